// Merges the workers' metrics with figures other parts register, and renders them for Prometheus.
#pragma once

#include "proxymetrics.h"

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QMutex>
#include <QPair>

#include <functional>

class QObject;

// Text exposition format 0.0.4. Rendering and registration may happen on any thread (they are off the
// request path, so a mutex guards them); worker metrics come in as snapshots the caller collected.
class MetricsRegistry
{
public:
    using Labels = QList<QPair<QByteArray, QByteArray>>; // name, value (UTF-8, escaped when rendered)
    using Appender = std::function<QByteArray()>;

    static constexpr const char *ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // Replace the value of one labelled series. False (and a warning) for a malformed metric or label
    // name, a name the proxy metrics already use, or a name registered before with another type.
    bool setGauge(const QByteArray &name, const QByteArray &help, double value, const Labels &labels = {});
    bool setCounter(const QByteArray &name, const QByteArray &help, double value, const Labels &labels = {});
    // Drop one series (or, with no labels given and `allSeries`, the whole family).
    void remove(const QByteArray &name, const Labels &labels = {}, bool allSeries = false);

    // Appenders render whole families (HELP, TYPE and samples) themselves; they run in the thread that
    // calls render(), without the registry's lock held. Returns an id for removeAppender().
    int addAppender(Appender appender);
    void removeAppender(int id);

    QByteArray render(const QList<ProxyMetrics::Snapshot> &workers) const;

    static QByteArray escapeLabelValue(QByteArrayView value);
    static bool isValidMetricName(QByteArrayView name);
    static bool isValidLabelName(QByteArrayView name);

private:
    enum class Type
    {
        Gauge,
        Counter
    };
    struct Family
    {
        Type type = Type::Gauge;
        QByteArray help;
        QMap<QByteArray, double> series; // by rendered label set, so output order is stable
    };

    bool set(Type type, const QByteArray &name, const QByteArray &help, double value, const Labels &labels);

    mutable QMutex m_mutex;
    QMap<QByteArray, Family> m_families;
    QList<QPair<int, Appender>> m_appenders;
    int m_nextAppenderId = 1;
};
