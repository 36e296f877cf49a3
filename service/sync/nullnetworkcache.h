// A QNetworkAccessManager cache that keeps nothing, so Qt does not complain about HTTP/2 trailers.
#pragma once

#include <QAbstractNetworkCache>

// Without any cache, Qt 6.4 takes the second metadata of an HTTP/2 answer (gRPC's trailers, after the
// data) as a late request to start caching and logs "QNetworkReplyImpl: backend error: caching was
// enabled after some bytes had been written" at critical level for every gRPC call. With a cache set it
// asks the cache only for GET and HEAD, which etcd's API never uses; this one stores and returns nothing.
class NullNetworkCache : public QAbstractNetworkCache
{
    Q_OBJECT

public:
    explicit NullNetworkCache(QObject *parent = nullptr)
        : QAbstractNetworkCache(parent)
    {}

    QNetworkCacheMetaData metaData(const QUrl &) override { return {}; }
    void updateMetaData(const QNetworkCacheMetaData &) override {}
    QIODevice *data(const QUrl &) override { return nullptr; }
    bool remove(const QUrl &) override { return false; }
    qint64 cacheSize() const override { return 0; }
    QIODevice *prepare(const QNetworkCacheMetaData &) override { return nullptr; }
    void insert(QIODevice *) override {}

public slots:
    void clear() override {}
};
