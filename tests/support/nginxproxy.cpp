#include "nginxproxy.h"

#include <QDir>
#include <QFile>

bool NginxProxy::start(quint16 targetPort)
{
    if (!m_dir.isValid()) {
        m_lastError = QStringLiteral("no temporary directory");
        return false;
    }
    m_port = TestSupport::freePort();
    const QString dir = m_dir.path();
    // Everything nginx writes stays in the temporary directory; it runs in the foreground, one process.
    const QString conf = QStringLiteral(R"(daemon off;
master_process off;
worker_processes 1;
pid %1/nginx.pid;
error_log %1/error.log;
events { worker_connections 64; }
http {
    access_log %1/access.log;
    client_body_temp_path %1/body;
    proxy_temp_path %1/proxy;
    fastcgi_temp_path %1/fastcgi;
    uwsgi_temp_path %1/uwsgi;
    scgi_temp_path %1/scgi;
    server {
        listen 127.0.0.1:%2;
        location / {
            proxy_pass http://127.0.0.1:%3;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
        }
    }
}
)")
                             .arg(dir)
                             .arg(m_port)
                             .arg(targetPort);
    QFile file(QDir(dir).filePath(QStringLiteral("nginx.conf")));
    if (!file.open(QIODevice::WriteOnly) || file.write(conf.toUtf8()) < 0) {
        m_lastError = QStringLiteral("cannot write %1").arg(file.fileName());
        return false;
    }
    file.close();
    const QString program = QFile::exists(QStringLiteral("/usr/sbin/nginx"))
                                ? QStringLiteral("/usr/sbin/nginx")
                                : QStringLiteral("nginx");
    if (!m_process.start(program, {QStringLiteral("-p"), dir, QStringLiteral("-e"),
                                   QDir(dir).filePath(QStringLiteral("error.log")), QStringLiteral("-c"),
                                   file.fileName()})) {
        m_lastError = QStringLiteral("nginx did not start (is nginx-light installed?)");
        return false;
    }
    if (!TestSupport::waitForPort(m_port)) {
        m_lastError = QStringLiteral("nginx does not accept on port %1: %2")
                          .arg(m_port)
                          .arg(QString::fromUtf8(m_process.output()));
        return false;
    }
    return true;
}

QString NginxProxy::endpoint() const
{
    return QStringLiteral("http://127.0.0.1:%1").arg(m_port);
}

QByteArray NginxProxy::accessLog() const
{
    QFile file(QDir(m_dir.path()).filePath(QStringLiteral("access.log")));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}
