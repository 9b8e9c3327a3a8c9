#!/usr/bin/env python3
"""bench_nss_data: fixtures for tests/bench/run-bench-nss.

  gen DIR N        passwd/group files, a mkcache spec, libnss-cache files and indexes, and
                   sample name/uid lists for N users (each in its private group and 2 of 50
                   shared groups), all describing the same accounts.
  serve N PORTFILE a loopback HTTP server answering GET /admin/users?page=&per_page= with N
                   users shaped as GoTrue lists them (X-Total-Count, Link rel="next"/"last"), pages rendered
                   once up front, so that sync and bare curl fetch identical bytes at the same
                   cost. This is the floor (sync_100k_seconds_vs_prerendered_pages): a real
                   GoTrue, and the project's emulator that the main sync line is measured
                   against, render every page when it is requested.
"""
import json
import os
import random
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

UID0 = 0x70000001
GID_SHARED = 0x7F000000
BASE_PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
BASE_GROUP = "root:x:0:\n"


def name(i):
    return "u%06d" % i


def gen(d, n):
    os.makedirs(d, exist_ok=True)
    shared = {g: [] for g in range(50)}
    pw, gr, spec = [BASE_PASSWD], [BASE_GROUP], []
    for i in range(n):
        u, uid = name(i), UID0 + i
        gs = [i % 50, (i * 7 + 3) % 50]
        if gs[0] == gs[1]:
            gs = gs[:1]
        for g in gs:
            shared[g].append(u)
        pw.append("%s:x:%d:%d:User %d:/home/%s:/bin/bash\n" % (u, uid, uid, i, u))
        gr.append("%s:x:%d:\n" % (u, uid))
        spec.append("user %s %d %d User_%d /home/%s /bin/bash %s\n"
                    % (u, uid, uid, i, u, ",".join(str(GID_SHARED + g) for g in gs)))
        spec.append("group %s %d\n" % (u, uid))
    for g in range(50):
        gr.append("g%02d:x:%d:%s\n" % (g, GID_SHARED + g, ",".join(shared[g])))
        spec.append("group g%02d %d %s\n" % (g, GID_SHARED + g, ",".join(shared[g])))
    write(d, "passwd", "".join(pw))
    write(d, "group", "".join(gr))
    write(d, "spec", "".join(spec))
    # libnss-cache (google/libnss-cache): the same lines in passwd.cache/group.cache, plus
    # sorted fixed-width indexes "key\0offset\0<pad>\n" by name and by id (its bsearch2).
    for base, lines in (("passwd", pw), ("group", gr)):
        write(d, base + ".cache", "".join(lines))
        idx_name, idx_id, off = [], [], 0
        for line in lines:
            f = line.split(":")
            idx_name.append((f[0], off))
            idx_id.append((f[2], off))
            off += len(line.encode())
        suffix = "ixuid" if base == "passwd" else "ixgid"
        for ext, entries in (("ixname", idx_name), (suffix, idx_id)):
            entries.sort(key=lambda e: e[0].encode())
            width = max(len(k) + len(str(o)) + 2 for k, o in entries)
            with open(os.path.join(d, "%s.cache.%s" % (base, ext)), "wb") as fh:
                for k, o in entries:
                    rec = b"%s\0%d\0" % (k.encode(), o)
                    fh.write(rec + b"\0" * (width - len(rec)) + b"\n")
    rnd = random.Random(42)
    sample = [rnd.randrange(n) for _ in range(1000)]
    write(d, "names", "".join(name(i) + "\n" for i in sample))
    write(d, "uids", "".join("%d\n" % (UID0 + i) for i in sample))


def write(d, f, text):
    with open(os.path.join(d, f), "w") as fh:
        fh.write(text)


def user_json(i):
    uid = str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))
    ts = "2024-05-01T10:%02d:%02d.%06dZ" % (i // 60 % 60, i % 60, i % 1000000)
    email = "%s@example.com" % name(i)
    return {
        "id": uid, "aud": "authenticated", "role": "authenticated", "email": email,
        "email_confirmed_at": ts, "phone": "", "confirmed_at": ts, "last_sign_in_at": ts,
        "app_metadata": {"provider": "email", "providers": ["email"],
                         "groups": ["g%02d" % (i % 50), "g%02d" % ((i * 7 + 3) % 50)]},
        "user_metadata": {"email_verified": True},
        # A listing loads no identities (transcript-v2.69 step 112).
        "identities": None,
        "created_at": ts, "updated_at": ts, "is_anonymous": False,
    }


def serve(n, portfile):
    users = [user_json(i) for i in range(n)]
    pages = {}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            u = urlparse(self.path)
            q = parse_qs(u.query)
            if u.path != "/admin/users":
                self.send_error(404)
                return
            page = int(q.get("page", ["1"])[0])
            pp = int(q.get("per_page", ["50"])[0])
            key = (page, pp)
            if key not in pages:
                chunk = users[(page - 1) * pp:page * pp]
                pages[key] = json.dumps({"users": chunk, "aud": "authenticated"},
                                        separators=(",", ":")).encode()
            body = pages[key]
            last = (n + pp - 1) // pp
            link = []
            if page < last:
                link.append('</admin/users?page=%d&per_page=%d>; rel="next"' % (page + 1, pp))
            link.append('</admin/users?page=%d&per_page=%d>; rel="last"' % (last, pp))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Total-Count", str(n))
            self.send_header("Link", ", ".join(link))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    # Render every page of 500 before announcing the port: both clients then get cached bytes.
    for p in range(1, (n + 499) // 500 + 2):
        chunk = users[(p - 1) * 500:p * 500]
        pages[(p, 500)] = json.dumps({"users": chunk, "aud": "authenticated"},
                                     separators=(",", ":")).encode()
    with open(portfile + ".tmp", "w") as fh:
        fh.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: bench_nss_data.py gen DIR N | serve N PORTFILE")
