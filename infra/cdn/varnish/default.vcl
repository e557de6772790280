vcl 4.1;
# Varnish (Debian's varnish 7.x) in front of delivery-images, for on-premises setups: the same cache
# key as the CloudFront distribution (infra/cdn/cloudfront-function.js), purges by URL and by tag.
#
#   varnishd -F -a :80 -f /etc/varnish/default.vcl -s malloc,1g
#
# The backend below is the service's public port on this host. To point it elsewhere, render the file
# rather than edit it: `node infra/cdn/varnish/render.ts --backend 10.0.0.5:8080 > /etc/varnish/default.vcl`
# (the tests render it the same way with the port of the service they start).
#
# The cache key is the URL with its full query plus the Accept class (`avif`, `webp`, `other`):
# `Accept` itself is rewritten to the class's canonical value before the lookup, so the service
# negotiates `fm=auto` from exactly what the object is cached under, and its `Vary: Accept` (kept for
# the browsers) can never split one cache key into several objects.
import std;

backend service {
    .host = "127.0.0.1";
    .port = "8080";
    .connect_timeout = 2s;
    # Above LIMITS_TRANSFORM_TIMEOUT_MS (15 s): the service, not Varnish, answers a slow transform.
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

# Who may PURGE and BAN: the host itself (the operator's shell, the purge job beside the service).
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # An absolute-form target (GET http://host/path) is routed by its path, as the service does.
    set req.url = regsub(req.url, "^[A-Za-z][A-Za-z0-9+.-]*://[^/]*", "");

    # The service's request-id rule: keep a valid one, else make one that is unique across restarts.
    if (req.http.X-Request-Id !~ "^[A-Za-z0-9._:-]{1,128}$") {
        set req.http.X-Request-Id = "varnish-" + std.integer(time = now) + "-" + req.xid + "-" + std.integer(real = std.random(0, 999999999));
    }

    # The operations endpoints never go through the CDN. The router decodes percent-encoding, which
    # VCL cannot: as on the load balancer, a percent-encoded path is refused unless it is an image's.
    set req.http.X-Routed-Path = std.tolower(regsuball(regsub(req.url, "\?.*$", ""), "/(\./)*/*", "/"));
    if (req.http.X-Routed-Path ~ "^(/api/v1)?/(hystrix\.stream|admin)(/|$)"
        || (req.http.X-Routed-Path ~ "%" && req.http.X-Routed-Path !~ "/images/")) {
        return (synth(404, "No such route"));
    }
    unset req.http.X-Routed-Path;

    if (req.method == "PURGE" || req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purging is allowed from the purge ACL only"));
        }
        if (req.method == "BAN") {
            # One purge tag of the service's Cache-Tag header (t:<tenant>, b:<tenant>/<domain>/<bucket>,
            # i:<…>/<imageId>; percent-encoded, so only these characters), matched as a whole token.
            if (req.http.X-Purge-Tag !~ "^[tbi]:[A-Za-z0-9%._~!*'()/-]+$") {
                return (synth(400, "X-Purge-Tag must be one t:, b: or i: tag"));
            }
            # The pattern holds no space, quote or backslash, which the ban parser would split or
            # unescape: tokens are delimited with [[:blank:]], regex characters put in brackets.
            if (!std.ban("obj.http.Cache-Tag ~ (^|[[:blank:]])" + regsuball(req.http.X-Purge-Tag, "([.*()])", "[\1]")
                + "([[:blank:]]|$)")) {
                std.log("ban failed: " + std.ban_error());
                return (synth(500, "Ban failed"));
            }
            return (synth(200, "Banned"));
        }
        # PURGE removes the URL's object of every Accept class: one lookup per class, by restarts.
        if (req.restarts == 0) {
            set req.http.X-Accept-Class = "avif";
        } elsif (req.restarts == 1) {
            set req.http.X-Accept-Class = "webp";
        } else {
            set req.http.X-Accept-Class = "other";
        }
        return (purge);
    }

    # The Accept class, the same rule as the CloudFront Function: a type counts when it is listed
    # without q=0. Repeated Accept headers are one list.
    std.collect(req.http.Accept, ",");
    if (req.http.Accept ~ "(?i)(^|,)\s*image/avif\s*(;|,|$)"
        && req.http.Accept !~ "(?i)(^|,)\s*image/avif\s*(;[^,]*)?;\s*q\s*=\s*0(\.0*)?\s*(;|,|$)") {
        set req.http.X-Accept-Class = "avif";
        set req.http.Accept = "image/avif,image/webp,*/*";
    } elsif (req.http.Accept ~ "(?i)(^|,)\s*image/webp\s*(;|,|$)"
        && req.http.Accept !~ "(?i)(^|,)\s*image/webp\s*(;[^,]*)?;\s*q\s*=\s*0(\.0*)?\s*(;|,|$)") {
        set req.http.X-Accept-Class = "webp";
        set req.http.Accept = "image/webp,*/*";
    } else {
        set req.http.X-Accept-Class = "other";
        set req.http.Accept = "*/*";
    }

    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Images are public: credentials would not change the answer, and must not split or skip the cache.
    unset req.http.Cookie;
    unset req.http.Authorization;
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    hash_data(req.http.X-Accept-Class);
    return (lookup);
}

sub vcl_purge {
    if (req.restarts < 2) {
        return (restart);
    }
    return (synth(200, "Purged"));
}

sub vcl_backend_fetch {
    unset bereq.http.X-Accept-Class;
}

sub vcl_backend_response {
    # Cache-Control is the service's to decide; Varnish adds no defaults of its own.
    if (beresp.http.Cache-Control ~ "(?i)(^|,)\s*(no-store|private)\s*(,|$)" || beresp.http.Vary == "*") {
        # Not stored; a short hit-for-miss marker keeps requests for the URL from queueing behind
        # each other, and the next cacheable answer replaces it.
        set beresp.ttl = 60s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (beresp.status >= 400 && beresp.http.Cache-Control !~ "(?i)(s-maxage|max-age)\s*=\s*[1-9]") {
        # An error without a lifetime of its own is not kept at all (no default TTL for errors).
        set beresp.ttl = 0s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (beresp.http.Cache-Control ~ "(?i)(^|,)\s*no-cache\s*(,|$)") {
        set beresp.ttl = 0s; # stored, but revalidated on every request
    }
    # No stale answers unless the service allows them (stale-while-revalidate sets beresp.grace).
    if (beresp.http.Cache-Control !~ "(?i)stale-while-revalidate") {
        set beresp.grace = 0s;
    }
    # An expired object with a validator stays around for a day: the next request revalidates it with
    # If-None-Match / If-Modified-Since, and the service's 304 refreshes it without a new transform.
    if (beresp.status == 200 && (beresp.http.ETag || beresp.http.Last-Modified)) {
        set beresp.keep = 1d;
    }
    return (deliver);
}

sub vcl_deliver {
    # A hit carries the request id of the request that filled the cache: give each client its own.
    set resp.http.X-Request-Id = req.http.X-Request-Id;
    # Purge tags are for the CDN (BAN below) and the service's purge API, not for browsers.
    unset resp.http.Cache-Tag;
    unset resp.http.Surrogate-Key;
}

sub vcl_synth {
    # The CDN's own answers look like the service's: JSON errors, never cached.
    set resp.http.Content-Type = "application/json";
    set resp.http.Cache-Control = "no-store";
    set resp.http.X-Content-Type-Options = "nosniff";
    set resp.http.X-Request-Id = req.http.X-Request-Id;
    if (resp.status == 200) {
        synthetic({"{"result":""} + resp.reason + {"","requestId":""} + req.http.X-Request-Id + {"""} + "}");
    } else {
        set resp.http.X-Error-Code = "INVALID_PARAMETER";
        if (resp.status == 500) {
            set resp.http.X-Error-Code = "PURGE_FAILED";
        } elsif (resp.status == 404) {
            set resp.http.X-Error-Code = "IMAGE_NOT_FOUND";
        } elsif (resp.status == 403) {
            set resp.http.X-Error-Code = "PURGE_NOT_ALLOWED";
        }
        synthetic({"{"error":{"code":""} + resp.http.X-Error-Code + {"","message":""} + resp.reason
            + {"","requestId":""} + req.http.X-Request-Id + {"""} + "}}");
        unset resp.http.X-Error-Code;
    }
    return (deliver);
}
