// PathNormalizer: the path routes are matched on, and what is forwarded, for the tricks nginx and APISIX
// defeat.
#include "pathnormalizer.h"

#include <QTest>

class tst_PathNormalizer : public QObject
{
    Q_OBJECT

private slots:
    void normalize_data();
    void normalize();
    void unchangedAllocatesNothing();
    void encode();
};

Q_DECLARE_METATYPE(PathNormalizer::Result)

void tst_PathNormalizer::normalize_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<PathNormalizer::Result>("result");
    QTest::addColumn<QByteArray>("decoded");
    QTest::addColumn<QByteArray>("encoded");
    using R = PathNormalizer::Result;

    QTest::newRow("root") << QByteArray("/") << R::Unchanged << QByteArray() << QByteArray();
    QTest::newRow("plain") << QByteArray("/public/a.txt") << R::Unchanged << QByteArray() << QByteArray();
    QTest::newRow("dots in names") << QByteArray("/a/..b/.c/b..") << R::Unchanged << QByteArray()
                                   << QByteArray();
    QTest::newRow("trailing slash") << QByteArray("/a/b/") << R::Unchanged << QByteArray() << QByteArray();
    QTest::newRow("asterisk") << QByteArray("*") << R::Unchanged << QByteArray() << QByteArray();
    QTest::newRow("empty") << QByteArray() << R::Unchanged << QByteArray() << QByteArray();

    QTest::newRow("dotdot") << QByteArray("/public/../admin/keys") << R::Changed << QByteArray("/admin/keys")
                            << QByteArray("/admin/keys");
    QTest::newRow("encoded dotdot") << QByteArray("/public/%2e%2e/admin/keys") << R::Changed
                                    << QByteArray("/admin/keys") << QByteArray("/admin/keys");
    QTest::newRow("upper encoded dotdot")
        << QByteArray("/public/%2E%2E/admin") << R::Changed << QByteArray("/admin") << QByteArray("/admin");
    QTest::newRow("mixed dotdot") << QByteArray("/public/.%2e/admin") << R::Changed << QByteArray("/admin")
                                  << QByteArray("/admin");
    QTest::newRow("encoded slash") << QByteArray("/public/..%2fadmin") << R::Changed << QByteArray("/admin")
                                   << QByteArray("/admin");
    QTest::newRow("encoded slash upper")
        << QByteArray("/public/..%2Fadmin") << R::Changed << QByteArray("/admin") << QByteArray("/admin");
    QTest::newRow("dot then dotdot") << QByteArray("/public/./../admin") << R::Changed << QByteArray("/admin")
                                     << QByteArray("/admin");
    QTest::newRow("dot") << QByteArray("/a/./b") << R::Changed << QByteArray("/a/b") << QByteArray("/a/b");
    QTest::newRow("trailing dot") << QByteArray("/a/.") << R::Changed << QByteArray("/a/")
                                  << QByteArray("/a/");
    QTest::newRow("trailing dotdot") << QByteArray("/a/b/..") << R::Changed << QByteArray("/a/")
                                     << QByteArray("/a/");
    QTest::newRow("dotdot to root") << QByteArray("/a/..") << R::Changed << QByteArray("/")
                                    << QByteArray("/");
    QTest::newRow("just dot") << QByteArray("/.") << R::Changed << QByteArray("/") << QByteArray("/");
    QTest::newRow("double slash") << QByteArray("//a///b//") << R::Changed << QByteArray("/a/b/")
                                  << QByteArray("/a/b/");
    QTest::newRow("encoded double slash")
        << QByteArray("/a/%2f/b") << R::Changed << QByteArray("/a/b") << QByteArray("/a/b");
    QTest::newRow("slashes then dotdot")
        << QByteArray("/a//b/..//c") << R::Changed << QByteArray("/a/c") << QByteArray("/a/c");
    QTest::newRow("dotdot after dotdot")
        << QByteArray("/a/b/c/../../d") << R::Changed << QByteArray("/a/d") << QByteArray("/a/d");
    QTest::newRow("letters decoded") << QByteArray("/%61dmin") << R::Changed << QByteArray("/admin")
                                     << QByteArray("/admin");
    QTest::newRow("space stays encoded")
        << QByteArray("/a%20b") << R::Changed << QByteArray("/a b") << QByteArray("/a%20b");
    QTest::newRow("lower hex re-encoded upper")
        << QByteArray("/a%3fb") << R::Changed << QByteArray("/a?b") << QByteArray("/a%3Fb");
    QTest::newRow("percent itself") << QByteArray("/100%25") << R::Changed << QByteArray("/100%")
                                    << QByteArray("/100%25");
    QTest::newRow("utf-8") << QByteArray("/caf%C3%A9") << R::Changed << QByteArray("/caf\xC3\xA9")
                           << QByteArray("/caf%C3%A9");
    QTest::newRow("sub-delims kept") << QByteArray("/a%3Bb;c") << R::Changed << QByteArray("/a;b;c")
                                     << QByteArray("/a;b;c");

    QTest::newRow("above root") << QByteArray("/..") << R::AboveRoot << QByteArray() << QByteArray();
    QTest::newRow("above root deeper")
        << QByteArray("/a/../../b") << R::AboveRoot << QByteArray() << QByteArray();
    QTest::newRow("above root encoded")
        << QByteArray("/%2e%2e/etc/passwd") << R::AboveRoot << QByteArray() << QByteArray();
    QTest::newRow("above root after slashes")
        << QByteArray("//..") << R::AboveRoot << QByteArray() << QByteArray();
    QTest::newRow("bad escape") << QByteArray("/a%zz") << R::BadEncoding << QByteArray() << QByteArray();
    QTest::newRow("short escape") << QByteArray("/a%2") << R::BadEncoding << QByteArray() << QByteArray();
    QTest::newRow("lone percent") << QByteArray("/a%") << R::BadEncoding << QByteArray() << QByteArray();
    QTest::newRow("nul") << QByteArray("/a%00b") << R::BadEncoding << QByteArray() << QByteArray();
}

void tst_PathNormalizer::normalize()
{
    QFETCH(QByteArray, path);
    QFETCH(PathNormalizer::Result, result);
    QFETCH(QByteArray, decoded);
    QFETCH(QByteArray, encoded);
    QByteArray gotDecoded;
    QByteArray gotEncoded;
    QCOMPARE(PathNormalizer::normalize(path, &gotDecoded, &gotEncoded), result);
    if (result != PathNormalizer::Result::Changed)
        return;
    QCOMPARE(gotDecoded, decoded);
    QCOMPARE(gotEncoded, encoded);
    // Normalizing is idempotent: the forwarded path routes the same way at the upstream's own proxy.
    QByteArray again;
    QByteArray againEncoded;
    const PathNormalizer::Result second = PathNormalizer::normalize(gotEncoded, &again, &againEncoded);
    if (second == PathNormalizer::Result::Changed)
        QCOMPARE(again, decoded);
    else
        QCOMPARE(second, PathNormalizer::Result::Unchanged);
}

void tst_PathNormalizer::unchangedAllocatesNothing()
{
    QByteArray decoded;
    QByteArray encoded;
    QCOMPARE(PathNormalizer::normalize("/api/v1/users/42", &decoded, &encoded),
             PathNormalizer::Result::Unchanged);
    QVERIFY(decoded.isNull());
    QVERIFY(encoded.isNull());
}

void tst_PathNormalizer::encode()
{
    QByteArray out;
    PathNormalizer::encode(QByteArrayView("/a b/#?%\x01\xff", 10), &out);
    QCOMPARE(out, QByteArray("/a%20b/%23%3F%25%01%FF"));
}

QTEST_GUILESS_MAIN(tst_PathNormalizer)
#include "tst_pathnormalizer.moc"
