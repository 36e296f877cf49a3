// One validation failure, naming the object, the field (a JSON pointer) and what was expected.
#pragma once

#include <QList>
#include <QString>

struct ValidationError
{
    QString key;     // "routes/12"; empty for an error about the whole document
    QString pointer; // JSON pointer inside the object, "" for the object itself
    QString message; // "expected string, got number"

    // "routes/12: /uri: expected string, got number"
    QString toString() const;
};
using ValidationErrors = QList<ValidationError>;
