#!/usr/bin/env python3
"""A fake of NCMEC's hash-sharing API (v2) on loopback, for bench/exchange-fetch.sh.

It serves N entries, all updated at one time (2024-01-01), in pages of P, as the real API
pages a range: a range that holds that time gets the first page for
`GET /v2/entries?from=...&to=...`, then each page's `next` link
(`/v2/entries?from=...&to=...&start=...&size=...&max=...`); any other range is empty.
Entries are images of members
7, 8 and 9 with an MD5 and a PDQ hash made from their number (SHA-256 of it), so that the
bench can look them up afterwards. Pages are written once into a folder and served from it,
so that the fake is not what limits the fetch. HTTP Basic credentials `bench:bench-pass`.

Usage: fake_ncmec.py --entries N --page-size P --dir DIR --port-file FILE
"""

import argparse
import base64
import hashlib
import http.server
import os
import urllib.parse

AUTH = "Basic " + base64.b64encode(b"bench:bench-pass").decode()
STAMP = "2024-01-01T00:00:00Z"


def pdq_of(i):
    return hashlib.sha256(b"pdq-%d" % i).hexdigest()


def md5_of(i):
    return hashlib.md5(b"md5-%d" % i).hexdigest()


def write_pages(entries, page_size, folder):
    marker = os.path.join(folder, "made-%d-%d" % (entries, page_size))
    if os.path.exists(marker):
        return
    pages = (entries + page_size - 1) // page_size
    for page in range(pages):
        first = page * page_size
        last = min(entries, first + page_size)
        parts = ['<?xml version="1.0" encoding="UTF-8"?>'
                 '<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">'
                 '<images count="%d" maxTimestamp="%s">' % (last - first, STAMP)]
        for i in range(first, last):
            member = 7 + i % 3
            parts.append(
                '<image><member id="%d">Member %d</member><timestamp>%s</timestamp>'
                '<id>e%d</id><classification>A1</classification><fingerprints>'
                '<md5>%s</md5><pdq>%s</pdq></fingerprints></image>'
                % (member, member, STAMP, i, md5_of(i), pdq_of(i)))
        parts.append('</images><videos count="0"/>')
        if last < entries:
            parts.append(
                '<paging><next>/v2/entries?from=2000-01-01T00%%3A00%%3A00.000Z&amp;'
                'to=2100-01-01T00%%3A00%%3A00.000Z&amp;start=%d&amp;size=%d&amp;max=%d'
                '</next></paging>' % (last + 1, page_size, entries))
        parts.append('</queryResult>')
        with open(os.path.join(folder, "page-%d.xml" % page), "w") as f:
            f.write("".join(parts))
    open(marker, "w").close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    write_pages(args.entries, args.page_size, args.dir)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path != "/v2/entries":
                self.send_error(404)
                return
            if self.headers.get("Authorization") != AUTH:
                self.send_error(401)
                return
            query = urllib.parse.parse_qs(url.query)
            # Every entry was updated at STAMP: a range that does not hold it is empty.
            since = query.get("from", [""])[0].replace(".000Z", "Z")
            until = query.get("to", [""])[0].replace(".000Z", "Z")
            if not (since < STAMP <= until):
                self.reply(b'<queryResult><images count="0"/><videos count="0"/></queryResult>')
                return
            start = int(query.get("start", ["1"])[0])
            page = (start - 1) // args.page_size
            path = os.path.join(args.dir, "page-%d.xml" % page)
            try:
                with open(path, "rb") as f:
                    body = f.read()
            except OSError:
                body = b'<queryResult><images count="0"/></queryResult>'
            self.reply(body)

        def reply(self, body):
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
