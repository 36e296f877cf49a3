// Holds COUNT idle keep-alive connections to 127.0.0.1:PORT, each having carried one answered request.
//
//   idle_clients PORT COUNT [PATH]
//
// Each connection sends "GET PATH HTTP/1.1" and reads its whole response (Content-Length framing), so the
// server has served it and keeps it as an idle keep-alive connection. Prints "open N" once all are idle,
// then holds them until SIGTERM or SIGINT, and prints how many the server closed meanwhile ("closed N").
// Plain POSIX, no Qt: the client's own cost stays out of the figures measured on the server.
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

namespace {

volatile sig_atomic_t stopRequested = 0;

void onSignal(int)
{
    stopRequested = 1;
}

[[noreturn]] void die(const char *what, int index)
{
    std::fprintf(stderr, "idle_clients: connection %d: %s: %s\n", index, what, std::strerror(errno));
    std::exit(1);
}

// Reads one response with a Content-Length body (the proxied upstreams answer so); false on a close.
bool readResponse(int fd)
{
    std::string in;
    char buf[4096];
    size_t headEnd = std::string::npos;
    size_t want = 0;
    for (;;) {
        if (headEnd != std::string::npos && in.size() >= headEnd + 4 + want)
            return true;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        in.append(buf, size_t(n));
        if (headEnd == std::string::npos) {
            headEnd = in.find("\r\n\r\n");
            if (headEnd != std::string::npos) {
                const size_t at = in.find("ontent-Length:");
                if (at != std::string::npos && at < headEnd)
                    want = size_t(std::strtoul(in.c_str() + at + 14, nullptr, 10));
            }
        }
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: idle_clients PORT COUNT [PATH]\n");
        return 2;
    }
    const int port = std::atoi(argv[1]);
    const int count = std::atoi(argv[2]);
    const std::string path = argc > 3 ? argv[3] : "/";
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);

    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle_clients\r\n\r\n";
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<int> fds;
    fds.reserve(size_t(count));
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket", i);
        timeval timeout{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
            die("connect", i);
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size()))
            die("send", i);
        if (!readResponse(fd))
            die("no complete response", i);
        fds.push_back(fd);
    }
    std::printf("open %d\n", count);
    std::fflush(stdout);

    // Idle: nothing is sent; a connection the server closes (keep-alive timeout) is counted at the end.
    while (!stopRequested)
        ::pause();
    int closed = 0;
    std::vector<pollfd> polls;
    for (int fd : fds)
        polls.push_back({fd, POLLIN, 0});
    if (::poll(polls.data(), polls.size(), 0) > 0) {
        for (const pollfd &p : polls)
            closed += (p.revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
    }
    for (int fd : fds)
        ::close(fd);
    std::printf("closed %d\n", closed);
    return 0;
}
