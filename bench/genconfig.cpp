// Writes a large APISIX-style configuration for the benchmarks: N routes over M upstreams.
// Usage: genconfig ROUTES UPSTREAMS NODE_HOST:PORT [--etcd-lines PREFIX]
//   default: one config object ({"routes":{...},"upstreams":{...}}) on stdout, for --standalone;
//   --etcd-lines: "key<TAB>value" lines, one object each, for loading into etcd.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s ROUTES UPSTREAMS HOST:PORT [--etcd-lines PREFIX]\n", argv[0]);
        return 2;
    }
    const long routes = std::strtol(argv[1], nullptr, 10);
    const long upstreams = std::strtol(argv[2], nullptr, 10);
    const std::string node = argv[3];
    const bool etcd = argc >= 6 && std::strcmp(argv[4], "--etcd-lines") == 0;
    const std::string prefix = etcd ? argv[5] : "";

    auto upstream = [&](long u) {
        return "{\"id\":\"u" + std::to_string(u) + "\",\"type\":\"roundrobin\",\"nodes\":{\"" + node +
               "\":1},\"keepalive_pool\":{\"size\":64,\"idle_timeout\":60,\"requests\":100000}}";
    };
    // Routes mix exact paths, prefixes and hosts, like a real fleet of services.
    auto route = [&](long r) {
        std::string uri =
            (r % 3 == 0) ? "/svc" + std::to_string(r) + "/*" : "/api/v1/svc" + std::to_string(r);
        std::string out = "{\"id\":\"r" + std::to_string(r) + "\",\"uri\":\"" + uri +
                          "\",\"upstream_id\":\"u" + std::to_string(r % upstreams) + "\"";
        if (r % 10 == 0)
            out += ",\"hosts\":[\"h" + std::to_string(r % 100) + ".example.com\"]";
        if (r % 2 == 0)
            out += ",\"methods\":[\"GET\",\"POST\"]";
        return out + "}";
    };

    if (etcd) {
        for (long u = 0; u < upstreams; ++u)
            std::printf("%s/upstreams/u%ld\t%s\n", prefix.c_str(), u, upstream(u).c_str());
        for (long r = 0; r < routes; ++r)
            std::printf("%s/routes/r%ld\t%s\n", prefix.c_str(), r, route(r).c_str());
        return 0;
    }
    std::printf("{\"upstreams\":{");
    for (long u = 0; u < upstreams; ++u)
        std::printf("%s\"u%ld\":%s", u ? "," : "", u, upstream(u).c_str());
    std::printf("},\"routes\":{");
    for (long r = 0; r < routes; ++r)
        std::printf("%s\"r%ld\":%s", r ? "," : "", r, route(r).c_str());
    std::printf("}}\n");
    return 0;
}
