#include "posixhost.h"

#include <QDir>
#include <QFile>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTimer>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcHost, "holdfast.host")

namespace {

int signalFds[2] = {-1, -1};

void onPosixSignal(int signo)
{
    const char byte = char(signo);
    const int saved = errno;
    [[maybe_unused]] ssize_t n = ::write(signalFds[0], &byte, 1);
    errno = saved;
}

// Every client and upstream connection is a descriptor: the usual soft limit (1024) would cap the gateway
// far below what it can hold, and the hard limit is what the administrator allows it. Logged once, so an
// operator sees the figure the gateway runs with.
void raiseDescriptorLimit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        qCWarning(lcHost, "getrlimit(RLIMIT_NOFILE) failed: %s", std::strerror(errno));
        return;
    }
    const rlim_t before = limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            qCWarning(lcHost, "cannot raise the open-file limit from %llu to %llu: %s",
                      static_cast<unsigned long long>(before),
                      static_cast<unsigned long long>(limit.rlim_max), std::strerror(errno));
            return;
        }
    }
    qCInfo(lcHost, "open-file limit (RLIMIT_NOFILE): %llu (soft limit was %llu)",
           static_cast<unsigned long long>(limit.rlim_cur), static_cast<unsigned long long>(before));
}

} // namespace

std::unique_ptr<PlatformHost> PlatformHost::create(QObject *parent)
{
    return std::make_unique<PosixHost>(parent);
}

int PlatformHost::runMain(int argc, char **argv, int (*serviceMain)(int, char **))
{
    // A file-size limit (RLIMIT_FSIZE, a quota-like cap) would otherwise kill the whole gateway with
    // SIGXFSZ at the first large save of the local copy; ignored, the write fails with EFBIG and is
    // reported and retried like a full disk. Process-wide, so set here and not by a library.
    ::signal(SIGXFSZ, SIG_IGN);
#if defined(__GLIBC__)
    // glibc gives threads that allocate at the same time arenas of their own (up to 8 per core: the
    // sync, persister, digest and worker threads all allocate) and, after each large free, raises the size
    // from which it maps a block on its own (up to 32 MB): the 20-30 MB texts of a 100k-route configuration
    // then stay in one arena or another after use, and the peak grows with every change (bench/README.md,
    // "Scale": 669 -> 522 MB after 30 changes at 100k routes). A fixed threshold returns such blocks at once.
    // Settings an operator gives through glibc's own variables win.
    if (qEnvironmentVariableIsEmpty("MALLOC_ARENA_MAX"))
        ::mallopt(M_ARENA_MAX, 2);
    if (qEnvironmentVariableIsEmpty("MALLOC_MMAP_THRESHOLD_"))
        ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    return serviceMain(argc, argv);
}

PosixHost::PosixHost(QObject *parent)
    : PlatformHost(parent)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, signalFds) != 0) {
        qCCritical(lcHost, "socketpair failed: %s", std::strerror(errno));
        return;
    }
    ::fcntl(signalFds[0], F_SETFL, O_NONBLOCK);
    m_notifier = new QSocketNotifier(signalFds[1], QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &PosixHost::onSignal);

    struct sigaction action = {};
    action.sa_handler = onPosixSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int signo : {SIGTERM, SIGINT, SIGHUP})
        ::sigaction(signo, &action, nullptr);
    // A client that goes away mid-write must not kill the gateway.
    ::signal(SIGPIPE, SIG_IGN);
    raiseDescriptorLimit();

    // WatchdogSec= in the unit: ping at half the interval from the main event loop, so that a loop
    // that hangs (not only a process that dies) gets the service restarted.
    bool ok = false;
    const qint64 watchdogUsec = qEnvironmentVariable("WATCHDOG_USEC").toLongLong(&ok);
    const QString watchdogPid = qEnvironmentVariable("WATCHDOG_PID");
    if (ok && watchdogUsec > 0 && (watchdogPid.isEmpty() || watchdogPid.toLongLong() == ::getpid())) {
        m_watchdog = new QTimer(this);
        m_watchdog->setInterval(int(qMax<qint64>(watchdogUsec / 2000, 1)));
        connect(m_watchdog, &QTimer::timeout, this, [this] { sdNotify("WATCHDOG=1"); });
        m_watchdog->start();
    }
}

PosixHost::~PosixHost()
{
    for (int signo : {SIGTERM, SIGINT, SIGHUP})
        ::signal(signo, SIG_DFL);
}

void PosixHost::onSignal()
{
    char received[16];
    const ssize_t n = ::read(signalFds[1], received, sizeof received);
    for (ssize_t i = 0; i < n; ++i) {
        if (received[i] == SIGHUP) {
            qCInfo(lcHost, "SIGHUP: reloading");
            emit reloadRequested();
        } else {
            qCInfo(lcHost, "%s: stopping", received[i] == SIGINT ? "SIGINT" : "SIGTERM");
            emit stopRequested();
        }
    }
}

bool PosixHost::prepareDataDir(const QString &dir, QString *error)
{
    if (!QDir().mkpath(dir)) {
        *error = QStringLiteral("cannot create data_dir %1").arg(dir);
        return false;
    }
    QFile::setPermissions(dir, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    return true;
}

void PosixHost::notifyReady()
{
    sdNotify("READY=1");
}

void PosixHost::notifyReloading()
{
    sdNotify("RELOADING=1");
}

void PosixHost::notifyStopping()
{
    sdNotify("STOPPING=1");
}

void PosixHost::notifyStatus(const QString &status)
{
    sdNotify("STATUS=" + status.toUtf8());
}

void PosixHost::sdNotify(const QByteArray &state)
{
    const QByteArray path = qgetenv("NOTIFY_SOCKET");
    if (path.isEmpty() || size_t(path.size()) >= sizeof(sockaddr_un::sun_path))
        return;
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.constData(), size_t(path.size()));
    if (address.sun_path[0] == '@') // abstract namespace
        address.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    const socklen_t length = socklen_t(offsetof(sockaddr_un, sun_path) + size_t(path.size()));
    if (::sendto(fd, state.constData(), size_t(state.size()), MSG_NOSIGNAL,
                 reinterpret_cast<sockaddr *>(&address), length) < 0)
        qCWarning(lcHost, "sd_notify failed: %s", std::strerror(errno));
    ::close(fd);
}
