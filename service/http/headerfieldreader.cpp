#include "headerfieldreader.h"

void HeaderFieldReader::nameFragment(QByteArrayView fragment)
{
    if (!m_target)
        return;
    if (!m_inName) {
        m_target->beginField();
        m_inName = true;
    }
    m_target->appendNameFragment(fragment);
}

void HeaderFieldReader::nameComplete()
{
    m_inName = false;
    if (m_target)
        m_dropField = m_dropUnderscoreNames && m_target->name(m_target->size() - 1).contains('_');
}

void HeaderFieldReader::valueFragment(QByteArrayView fragment)
{
    if (m_target)
        m_target->appendValueFragment(fragment);
}

void HeaderFieldReader::valueComplete()
{
    if (m_target) {
        if (m_dropField)
            m_target->removeLast();
        else
            m_target->finishField();
    }
    m_dropField = false;
}
