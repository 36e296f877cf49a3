#include "metricsregistry.h"

#include <QLocale>
#include <QLoggingCategory>
#include <QMutexLocker>

#include <algorithm>
#include <cmath>
#include <utility>

Q_LOGGING_CATEGORY(lcMetrics, "holdfast.admin.metrics")

namespace {

constexpr const char *BucketLabels[ProxyMetrics::BucketCount] = {
    "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10", "+Inf"};

// Families the worker snapshots produce; registered series may not shadow them.
const QList<QByteArray> &builtInNames()
{
    static const QList<QByteArray> names = [] {
        QList<QByteArray> list{"holdfast_http_requests_total",
                               "holdfast_http_request_duration_seconds",
                               "holdfast_http_request_bytes_total",
                               "holdfast_http_response_bytes_total",
                               "holdfast_http_connections_active",
                               "holdfast_websocket_tunnels_active",
                               "holdfast_websocket_tunnels_total",
                               "holdfast_upstream_duration_seconds",
                               "holdfast_upstream_connect_failures_total",
                               "holdfast_upstream_retries_total"};
        for (const QByteArray &histogram : {QByteArray("holdfast_http_request_duration_seconds"),
                                            QByteArray("holdfast_upstream_duration_seconds")}) {
            list << histogram + "_bucket" << histogram + "_sum" << histogram + "_count";
        }
        return list;
    }();
    return names;
}

// Exact decimal seconds from microseconds, without the rounding a double would bring.
QByteArray secondsFromMicros(quint64 micros)
{
    QByteArray text = QByteArray::number(micros / 1000000);
    const quint64 fraction = micros % 1000000;
    if (fraction != 0) {
        QByteArray digits = QByteArray::number(fraction).rightJustified(6, '0');
        while (digits.endsWith('0'))
            digits.chop(1);
        text += '.' + digits;
    }
    return text;
}

QByteArray formatValue(double value)
{
    if (std::isnan(value))
        return QByteArrayLiteral("NaN");
    if (std::isinf(value))
        return value > 0 ? QByteArrayLiteral("+Inf") : QByteArrayLiteral("-Inf");
    return QByteArray::number(value, 'g', QLocale::FloatingPointShortest);
}

// The exposition format escapes backslashes and newlines in HELP text, and double quotes too in label
// values.
QByteArray escaped(QByteArrayView text, bool quotes)
{
    QByteArray out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quotes)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

void header(QByteArray &out, const char *name, const char *type, const char *help)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

QByteArray label(const char *name, const QString &value)
{
    return QByteArray(name) + "=\"" + MetricsRegistry::escapeLabelValue(value.toUtf8()) + '"';
}

void sample(QByteArray &out, const char *name, const char *suffix, const QByteArray &labels,
            const QByteArray &value)
{
    out += name;
    out += suffix;
    if (!labels.isEmpty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

void histogram(QByteArray &out, const char *name, const QByteArray &labels, const ProxyMetrics::Histogram &h)
{
    const QByteArray prefix = labels.isEmpty() ? QByteArray() : labels + ',';
    quint64 cumulative = 0;
    for (int i = 0; i < ProxyMetrics::BucketCount; ++i) {
        cumulative += h.buckets[size_t(i)];
        sample(out, name, "_bucket", prefix + "le=\"" + BucketLabels[i] + '"',
               QByteArray::number(cumulative));
    }
    sample(out, name, "_sum", labels, secondsFromMicros(h.sumMicros));
    sample(out, name, "_count", labels, QByteArray::number(h.count));
}

template<typename T>
QList<QString> sortedKeys(const QHash<QString, T> &hash)
{
    QList<QString> keys = hash.keys();
    std::sort(keys.begin(), keys.end());
    return keys;
}

} // namespace

bool MetricsRegistry::isValidMetricName(QByteArrayView name)
{
    if (name.isEmpty())
        return false;
    for (qsizetype i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!letter && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

bool MetricsRegistry::isValidLabelName(QByteArrayView name)
{
    // Names starting with "__" are reserved for Prometheus itself.
    return isValidMetricName(name) && !name.contains(':') && !name.startsWith("__");
}

QByteArray MetricsRegistry::escapeLabelValue(QByteArrayView value)
{
    return escaped(value, true);
}

bool MetricsRegistry::setGauge(const QByteArray &name, const QByteArray &help, double value,
                               const Labels &labels)
{
    return set(Type::Gauge, name, help, value, labels);
}

bool MetricsRegistry::setCounter(const QByteArray &name, const QByteArray &help, double value,
                                 const Labels &labels)
{
    return set(Type::Counter, name, help, value, labels);
}

bool MetricsRegistry::set(Type type, const QByteArray &name, const QByteArray &help, double value,
                          const Labels &labels)
{
    if (!isValidMetricName(name)) {
        qCWarning(lcMetrics) << "metric" << name << "not registered: invalid metric name";
        return false;
    }
    if (builtInNames().contains(name)) {
        qCWarning(lcMetrics) << "metric" << name << "not registered: the proxy metrics own that name";
        return false;
    }
    QByteArray rendered;
    for (qsizetype i = 0; i < labels.size(); ++i) {
        const QByteArray &labelName = labels[i].first;
        if (!isValidLabelName(labelName)) {
            qCWarning(lcMetrics) << "metric" << name << "not registered: invalid label name" << labelName;
            return false;
        }
        for (qsizetype j = 0; j < i; ++j) {
            if (labels[j].first == labelName) {
                qCWarning(lcMetrics) << "metric" << name << "not registered: label" << labelName
                                     << "given twice";
                return false;
            }
        }
        if (i > 0)
            rendered += ',';
        rendered += labelName + "=\"" + escapeLabelValue(labels[i].second) + '"';
    }

    QMutexLocker lock(&m_mutex);
    auto it = m_families.find(name);
    if (it == m_families.end()) {
        it = m_families.insert(name, Family{type, help, {}});
    } else if (it->type != type) {
        qCWarning(lcMetrics) << "metric" << name << "not registered: already registered with another type";
        return false;
    }
    it->help = help;
    it->series.insert(rendered, value);
    return true;
}

void MetricsRegistry::remove(const QByteArray &name, const Labels &labels, bool allSeries)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_families.find(name);
    if (it == m_families.end())
        return;
    if (allSeries) {
        m_families.erase(it);
        return;
    }
    QByteArray rendered;
    for (qsizetype i = 0; i < labels.size(); ++i) {
        if (i > 0)
            rendered += ',';
        rendered += labels[i].first + "=\"" + escapeLabelValue(labels[i].second) + '"';
    }
    it->series.remove(rendered);
    if (it->series.isEmpty())
        m_families.erase(it);
}

int MetricsRegistry::addAppender(Appender appender)
{
    QMutexLocker lock(&m_mutex);
    const int id = m_nextAppenderId++;
    m_appenders.append({id, std::move(appender)});
    return id;
}

void MetricsRegistry::removeAppender(int id)
{
    QMutexLocker lock(&m_mutex);
    m_appenders.removeIf([id](const QPair<int, Appender> &a) { return a.first == id; });
}

QByteArray MetricsRegistry::render(const QList<ProxyMetrics::Snapshot> &workers) const
{
    const ProxyMetrics::Snapshot all = ProxyMetrics::merge(workers);
    const QList<QString> routes = sortedKeys(all.routes);
    const QList<QString> upstreams = sortedKeys(all.upstreams);
    QByteArray out;
    out.reserve(4096 + routes.size() * 2048 + upstreams.size() * 1536);

    header(out, "holdfast_http_requests_total", "counter",
           "Requests answered, by route, upstream and status code.");
    for (const QString &route : routes) {
        QList<ProxyMetrics::StatusCount> statuses = all.routes.value(route).statuses;
        std::sort(statuses.begin(), statuses.end(), [](const auto &a, const auto &b) {
            return a.upstream == b.upstream ? a.code < b.code : a.upstream < b.upstream;
        });
        for (const ProxyMetrics::StatusCount &s : statuses) {
            sample(out, "holdfast_http_requests_total", "",
                   label("route", route) + ',' + label("upstream", s.upstream) + ",code=\"" +
                       QByteArray::number(s.code) + '"',
                   QByteArray::number(s.count));
        }
    }

    header(out, "holdfast_http_request_duration_seconds", "histogram",
           "Time from the start of a request to the end of its response, by route.");
    for (const QString &route : routes)
        histogram(out, "holdfast_http_request_duration_seconds", label("route", route),
                  all.routes.value(route).duration);

    header(out, "holdfast_http_request_bytes_total", "counter", "Bytes received from clients, by route.");
    for (const QString &route : routes) {
        sample(out, "holdfast_http_request_bytes_total", "", label("route", route),
               QByteArray::number(all.routes.value(route).requestBytes));
    }

    header(out, "holdfast_http_response_bytes_total", "counter", "Bytes sent to clients, by route.");
    for (const QString &route : routes) {
        sample(out, "holdfast_http_response_bytes_total", "", label("route", route),
               QByteArray::number(all.routes.value(route).responseBytes));
    }

    header(out, "holdfast_http_connections_active", "gauge", "Client connections open now.");
    sample(out, "holdfast_http_connections_active", "", {}, QByteArray::number(all.activeConnections));

    header(out, "holdfast_websocket_tunnels_active", "gauge", "WebSocket tunnels open now.");
    sample(out, "holdfast_websocket_tunnels_active", "", {}, QByteArray::number(all.activeTunnels));
    header(out, "holdfast_websocket_tunnels_total", "counter",
           "WebSocket tunnels opened (101 from an upstream).");
    sample(out, "holdfast_websocket_tunnels_total", "", {}, QByteArray::number(all.tunnels));

    header(out, "holdfast_upstream_duration_seconds", "histogram",
           "Time from sending a request upstream to the end of the upstream response, by upstream.");
    for (const QString &upstream : upstreams) {
        histogram(out, "holdfast_upstream_duration_seconds", label("upstream", upstream),
                  all.upstreams[upstream].duration);
    }

    header(out, "holdfast_upstream_connect_failures_total", "counter",
           "Connections to an upstream node that failed, by upstream.");
    for (const QString &upstream : upstreams) {
        sample(out, "holdfast_upstream_connect_failures_total", "", label("upstream", upstream),
               QByteArray::number(all.upstreams[upstream].connectFailures));
    }

    header(out, "holdfast_upstream_retries_total", "counter",
           "Requests retried on another node, by upstream.");
    for (const QString &upstream : upstreams) {
        sample(out, "holdfast_upstream_retries_total", "", label("upstream", upstream),
               QByteArray::number(all.upstreams[upstream].retries));
    }

    QList<QPair<int, Appender>> appenders;
    {
        QMutexLocker lock(&m_mutex);
        for (auto it = m_families.cbegin(); it != m_families.cend(); ++it) {
            out += "# HELP " + it.key() + ' ' + escaped(it->help, false) + '\n';
            out += "# TYPE " + it.key() + (it->type == Type::Counter ? " counter\n" : " gauge\n");
            for (auto series = it->series.cbegin(); series != it->series.cend(); ++series)
                sample(out, it.key().constData(), "", series.key(), formatValue(series.value()));
        }
        appenders = m_appenders;
    }
    // Outside the lock: an appender may well call back into the registry.
    for (const auto &appender : std::as_const(appenders)) {
        const QByteArray text = appender.second();
        out += text;
        if (!text.isEmpty() && !text.endsWith('\n'))
            out += '\n';
    }
    return out;
}
