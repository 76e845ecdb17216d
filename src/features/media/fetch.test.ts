import assert from "node:assert/strict";
import { createServer, type Server, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import { AllowHostError, isPublicAddress, MediaFetcher, parseAllowEntry, sniffMedia, type MediaKind } from "./fetch.ts";

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);

let server: Server;
let port: number;
let connections = 0;
const hanging = new Set<ServerResponse>();

function route(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://x");
  switch (url.pathname) {
    case "/image.png":
      response.writeHead(200, { "content-type": "image/png" }).end(PNG);
      return;
    case "/page.png":
      response.writeHead(200, { "content-type": "image/png" }).end("<html><body>not an image</body></html>");
      return;
    case "/big.png": {
      // No content-length: the cap must hold while streaming.
      response.writeHead(200, { "content-type": "image/png" });
      response.write(PNG);
      const chunk = Buffer.alloc(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 50 && !response.destroyed) {
          sent += 1;
          if (!response.write(chunk)) return void response.once("drain", pump);
        }
        response.end();
      };
      pump();
      return;
    }
    case "/declared-big.png":
      response.writeHead(200, { "content-type": "image/png", "content-length": String(10 * 1024 * 1024) });
      response.write(PNG);
      hanging.add(response);
      return;
    case "/hang":
      hanging.add(response);
      return;
    case "/redirect":
      response.writeHead(302, { location: url.searchParams.get("to") ?? "/image.png" }).end();
      return;
    case "/loop":
      response.writeHead(302, { location: "/loop" }).end();
      return;
    case "/missing":
      response.writeHead(404).end("nope");
      return;
    default:
      response.writeHead(404).end();
  }
}

before(async () => {
  server = createServer(route);
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const response of hanging) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const local = (path: string) => `http://127.0.0.1:${port}${path}`;
const allowed = (options: Partial<ConstructorParameters<typeof MediaFetcher>[0]> = {}) =>
  new MediaFetcher({ allowHosts: ["127.0.0.1"], timeoutMs: 2000, ...options });

async function refused(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<ApiError> {
  const error = await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, `not an ApiError: ${String(error)}`);
  assert.equal(error.status, 400);
  assert.equal(error.code, code);
  assert.match(error.message, pattern);
  return error;
}

describe("MediaFetcher: SSRF", () => {
  it("refuses 127.0.0.1 by default, without connecting", async () => {
    const before = connections;
    const error = await refused(
      new MediaFetcher().fetch(local("/image.png"), "image"),
      "InvalidURL",
      /^Invalid URL provided in your request: http:\/\/127\.0\.0\.1:\d+\/image\.png \(/,
    );
    assert.doesNotMatch(error.message, /ECONN|stack|at /);
    assert.equal(connections, before);
  });

  it("fetches from 127.0.0.1 when allow-listed (address, CIDR)", async () => {
    for (const allowHosts of [["127.0.0.1"], ["127.0.0.0/8"]]) {
      const media = await new MediaFetcher({ allowHosts }).fetch(local("/image.png"), "image");
      assert.deepEqual(media, { bytes: PNG, contentType: "image/png" });
    }
  });

  it("an entry with :port opens that port only (address, CIDR, host name, [v6]); without a port every port", async () => {
    const other = port === 65535 ? port - 1 : port + 1;
    for (const entry of [`127.0.0.1:${port}`, `127.0.0.0/8:${port}`, `[::ffff:127.0.0.1]:${port}`]) {
      const media = await new MediaFetcher({ allowHosts: [entry] }).fetch(local("/image.png"), "image");
      assert.deepEqual(media, { bytes: PNG, contentType: "image/png" }, entry);
    }
    const before = connections;
    for (const entry of [`127.0.0.1:${other}`, `127.0.0.0/8:${other}`, `localhost:${port}`, `[::1]:${port}`]) {
      await refused(new MediaFetcher({ allowHosts: [entry] }).fetch(local("/image.png"), "image"), "InvalidURL", /private or reserved/);
    }
    // A host-name entry matches the name with its port; another port of the same host stays closed.
    await refused(
      new MediaFetcher({ allowHosts: [`localhost:${other}`] }).fetch(`http://localhost:${port}/image.png`, "image"),
      "InvalidURL",
      /private or reserved/,
    );
    assert.equal(connections, before, "a refused port is never connected to");
    const named = await new MediaFetcher({ allowHosts: [`LOCALHOST:${port}`] }).fetch(`http://localhost:${port}/image.png`, "image").catch((e: unknown) => e);
    if (named instanceof ApiError) assert.equal(named.code, "InvalidParameter");
    // The scheme's default port counts as the URL's port.
    await refused(new MediaFetcher({ allowHosts: ["127.0.0.1:8080"] }).fetch("http://127.0.0.1/x.png", "image"), "InvalidURL", /private or reserved/);
  });

  it("refuses host names that resolve to private addresses (localhost)", async () => {
    await refused(new MediaFetcher().fetch(`http://localhost:${port}/image.png`, "image"), "InvalidURL", /localhost.*private or reserved/);
  });

  it("allows an allow-listed host name", async () => {
    const media = await new MediaFetcher({ allowHosts: ["LocalHost"] }).fetch(`http://localhost:${port}/image.png`, "image").catch((e: unknown) => e);
    // localhost may resolve to ::1 first where nothing listens; either way it is not refused as private.
    if (media instanceof ApiError) assert.equal(media.code, "InvalidParameter");
    else assert.deepEqual(media, { bytes: PNG, contentType: "image/png" });
  });

  for (const url of [
    "http://[::1]/x.png",
    "http://0.0.0.0/x.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/x.png",
    "http://[::ffff:169.254.169.254]/x.png",
    "http://[::127.0.0.1]/x.png",
    "http://[fe80::1]/x.png",
    "http://[fd00::1]/x.png",
    "http://10.1.2.3/x.png",
    "http://172.16.0.1/x.png",
    "http://192.168.1.1/x.png",
    "http://100.64.0.1/x.png",
    "http://224.0.0.1/x.png",
    "http://255.255.255.255/x.png",
    "http://2130706433/x.png",
    "http://0x7f.1/x.png",
    "http://[64:ff9b::7f00:1]/x.png",
    "http://[2002:7f00:1::]/x.png",
  ]) {
    it(`refuses ${url} without any connection attempt`, async () => {
      const before = connections;
      await refused(new MediaFetcher().fetch(url, "image"), "InvalidURL", /private or reserved/);
      assert.equal(connections, before);
    });
  }

  it("classifies public addresses as public", () => {
    assert.equal(isPublicAddress("8.8.8.8"), true);
    assert.equal(isPublicAddress("2606:4700:4700::1111"), true);
    assert.equal(isPublicAddress("::ffff:8.8.8.8"), true);
    assert.equal(isPublicAddress("::ffff:10.0.0.1"), false);
    assert.equal(isPublicAddress("not an address"), false);
  });

  it("connects to the checked address only (no second DNS lookup)", async () => {
    let lookups = 0;
    const fetcher = new MediaFetcher({
      allowHosts: ["127.0.0.1"],
      resolveHost: async () => {
        lookups += 1;
        return [{ address: "127.0.0.1", family: 4 }];
      },
    });
    // "rebind.invalid" exists in no real DNS: the connection can only use the checked address.
    const media = await fetcher.fetch(`http://rebind.invalid:${port}/image.png`, "image");
    assert.equal(media.contentType, "image/png");
    assert.equal(lookups, 1);
  });

  it("refuses a host if ANY of its addresses is private", async () => {
    const before = connections;
    const fetcher = new MediaFetcher({
      resolveHost: async () => [
        { address: "93.184.216.34", family: 4 },
        { address: "::ffff:10.0.0.1", family: 6 },
      ],
    });
    await refused(fetcher.fetch(`http://mixed.invalid:${port}/image.png`, "image"), "InvalidURL", /private or reserved/);
    await refused(
      new MediaFetcher({
        resolveHost: async () => {
          throw new Error("ENOTFOUND");
        },
      }).fetch("http://nowhere.invalid/x.png", "image"),
      "InvalidURL",
      /does not resolve/,
    );
    assert.equal(connections, before);
  });

  it("refuses a redirect from an allow-listed host to a refused one", async () => {
    for (const to of ["http://169.254.169.254/latest/meta-data/", "http://10.255.255.1/x.png", "http://[::1]/x.png"]) {
      await refused(allowed().fetch(local(`/redirect?to=${encodeURIComponent(to)}`), "image"), "InvalidURL", /redirect leads to a private or reserved address/);
    }
  });

  it("follows redirects between allowed hosts, and caps them", async () => {
    const media = await allowed().fetch(local("/redirect?to=/image.png"), "image");
    assert.equal(media.contentType, "image/png");
    await refused(
      allowed({ maxRedirects: 3 }).fetch(local("/loop"), "image"),
      "InvalidParameter",
      /^Failed to download the image from .*: more than 3 redirects$/,
    );
  });

  it("refuses a redirect to another scheme", async () => {
    await refused(allowed().fetch(local(`/redirect?to=${encodeURIComponent("file:///etc/passwd")}`), "image"), "InvalidURL", /unsupported scheme/);
  });

  it("reports HTTP errors as download failures", async () => {
    await refused(
      allowed().fetch(local("/missing"), "image"),
      "InvalidParameter",
      /^Failed to download the image from http:\/\/127\.0\.0\.1:\d+\/missing: the server answered HTTP 404$/,
    );
  });

  it("caps the size while streaming, and by Content-Length", async () => {
    const fetcher = allowed({ maxBytes: 256 * 1024 });
    const started = Date.now();
    await refused(fetcher.fetch(local("/big.png"), "image"), "InvalidParameter", /larger than 262144 bytes/);
    await refused(fetcher.fetch(local("/declared-big.png"), "image"), "InvalidParameter", /larger than 262144 bytes/);
    assert.ok(Date.now() - started < 1500);
  });

  it("times out promptly on a server that never answers", async () => {
    const started = Date.now();
    await refused(
      allowed({ timeoutMs: 300 }).fetch(local("/hang"), "image"),
      "InvalidParameter",
      /^Failed to download the image from .*\/hang: timed out after 300 ms$/,
    );
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
  });

  it("times out promptly when DNS never answers", async () => {
    const started = Date.now();
    const fetcher = new MediaFetcher({ timeoutMs: 200, resolveHost: () => new Promise(() => undefined) });
    await refused(fetcher.fetch("http://slow-dns.invalid/x.png", "image"), "InvalidParameter", /timed out after 200 ms$/);
    assert.ok(Date.now() - started < 1000);
  });

  it("refuses an HTML page served as image/png", async () => {
    await refused(
      allowed().fetch(local("/page.png"), "image"),
      "InvalidParameter",
      /^The image at http:\/\/127\.0\.0\.1:\d+\/page\.png is not a supported format\.$/,
    );
  });

  it("reports a refused connection as a download failure", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await refused(allowed().fetch(`http://127.0.0.1:${closedPort}/x.png`, "image"), "InvalidParameter", /the connection failed$/);
  });
});

describe("allow_hosts entries", () => {
  it("reads host, address, CIDR, each with or without :port, and IPv6 with or without brackets", () => {
    const read = (entry: string) => {
      const parsed = parseAllowEntry(entry);
      return { host: parsed.host, range: parsed.range && `${parsed.range[0].toString()}/${parsed.range[1]}`, port: parsed.port };
    };
    assert.deepEqual(read("MinIO.internal"), { host: "minio.internal", range: undefined, port: undefined });
    assert.deepEqual(read("minio.internal.:9000"), { host: "minio.internal", range: undefined, port: 9000 });
    assert.deepEqual(read("10.0.0.5"), { host: undefined, range: "10.0.0.5/32", port: undefined });
    assert.deepEqual(read("10.0.0.5:9000"), { host: undefined, range: "10.0.0.5/32", port: 9000 });
    assert.deepEqual(read("10.0.0.0/8"), { host: undefined, range: "10.0.0.0/8", port: undefined });
    assert.deepEqual(read("10.0.0.0/8:443"), { host: undefined, range: "10.0.0.0/8", port: 443 });
    assert.deepEqual(read("fd00::1"), { host: undefined, range: "fd00::1/128", port: undefined });
    assert.deepEqual(read("[fd00::1]"), { host: undefined, range: "fd00::1/128", port: undefined });
    assert.deepEqual(read("[fd00::1]:9000"), { host: undefined, range: "fd00::1/128", port: 9000 });
    assert.deepEqual(read("fd00::/8"), { host: undefined, range: "fd00::/8", port: undefined });
    assert.deepEqual(read("[fd00::/8]:9000"), { host: undefined, range: "fd00::/8", port: 9000 });
    assert.deepEqual(read("::ffff:10.0.0.0/104"), { host: undefined, range: "10.0.0.0/8", port: undefined });
  });

  it("refuses what is none of those, naming the entry and what is wrong", () => {
    const cases: [string, RegExp][] = [
      ["10.0.0.0/99", /"10\.0\.0\.0\/99" is not a valid CIDR range/],
      ["999.999.1.1", /"999\.999\.1\.1" is not a valid IPv4 address/],
      ["999.0.0.0/8", /not a valid CIDR range/],
      ["http://minio.internal:9000/", /is a URL or path; give a host name/],
      ["minio.internal/bucket", /is a URL or path/],
      ["minio.internal:0", /the port must be a number from 1 to 65535, got "0"/],
      ["minio.internal:70000", /the port must be a number from 1 to 65535, got "70000"/],
      ["minio.internal:", /the port must be a number from 1 to 65535, got ""/],
      ["[minio.internal]:80", /brackets are for IPv6 addresses only/],
      ["*.internal", /is not a host name, IP address or CIDR range/],
      ["bad host", /is not a host name/],
    ];
    for (const [entry, pattern] of cases) {
      assert.throws(
        () => parseAllowEntry(entry),
        (error: unknown) => error instanceof AllowHostError && pattern.test(error.message),
        entry,
      );
    }
    assert.throws(() => new MediaFetcher({ allowHosts: ["10.0.0.0/99"] }), AllowHostError);
  });
});

describe("MediaFetcher: other sources", () => {
  for (const source of [
    "file:///etc/passwd",
    "/etc/passwd",
    "../x",
    "x.png",
    "ftp://example.com/x.png",
    "gopher://127.0.0.1/",
    "javascript:alert(1)",
    PNG.toString("base64"),
    "C:\\Windows\\win.ini",
    "FILE:///etc/passwd",
  ]) {
    it(`refuses ${JSON.stringify(source.slice(0, 30))}`, async () => {
      await refused(new MediaFetcher().fetch(source, "image"), "InvalidURL", /^Invalid URL provided in your request: /);
    });
  }

  it("accepts base64 data URIs and sniffs them", async () => {
    const media = await new MediaFetcher().fetch(`data:image/png;base64,${PNG.toString("base64")}`, "image");
    assert.deepEqual(media, { bytes: PNG, contentType: "image/png" });
    // The declared type is only a hint.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
    assert.equal((await new MediaFetcher().fetch(`data:image/png;base64,${jpeg.toString("base64")}`, "image")).contentType, "image/jpeg");
  });

  it("caps data URIs, and refuses non-base64 or malformed ones", async () => {
    const fetcher = new MediaFetcher({ maxBytes: 32 });
    const error = await refused(fetcher.fetch(`data:image/png;base64,${PNG.toString("base64")}`, "image"), "InvalidParameter", /larger than 32 bytes/);
    assert.ok(error.message.length < 200, "a data URI is not echoed whole");
    await refused(fetcher.fetch("data:image/png,%89PNG", "image"), "InvalidURL", /only base64 data URIs/);
    await refused(fetcher.fetch("data:image/png;base64,@@@@", "image"), "InvalidURL", /malformed base64/);
    await refused(
      new MediaFetcher().fetch(`data:image/png;base64,${Buffer.from("<html>").toString("base64")}`, "image"),
      "InvalidParameter",
      /not a supported format/,
    );
  });

  it("resolves oss:// only with ossResolve and a resolver", async () => {
    const keys: string[] = [];
    const fetcher = new MediaFetcher({
      resolveOss: async (key) => {
        keys.push(key);
        return key === "dir/a.png" ? { bytes: PNG, contentType: "application/octet-stream" } : undefined;
      },
    });
    await refused(fetcher.fetch("oss://dir/a.png", "image"), "InvalidURL", /X-DashScope-OssResourceResolve/);
    await refused(new MediaFetcher().fetch("oss://dir/a.png", "image", { ossResolve: true }), "InvalidURL", /X-DashScope-OssResourceResolve/);
    assert.deepEqual(await fetcher.fetch("oss://dir/a.png", "image", { ossResolve: true }), { bytes: PNG, contentType: "image/png" });
    await refused(fetcher.fetch("oss://dir/b.png", "image", { ossResolve: true }), "InvalidParameter", /does not exist or has expired/);
    await refused(
      fetcher.fetch("oss://dir/a.png", "video", { ossResolve: true }),
      "InvalidParameter",
      /The video at oss:\/\/dir\/a\.png is not a supported format/,
    );
    assert.deepEqual(keys, ["dir/a.png", "dir/b.png", "dir/a.png"]);
  });
});

describe("sniffMedia", () => {
  const riff = (type: string) => Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from(type), Buffer.alloc(8)]);
  const ftyp = (brand: string) => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftyp"), Buffer.from(brand), Buffer.alloc(8)]);
  const cases: [MediaKind, Buffer, string | undefined][] = [
    ["image", Buffer.from([0xff, 0xd8, 0xff, 0xdb]), "image/jpeg"],
    ["image", PNG, "image/png"],
    ["image", Buffer.from("GIF89a......"), "image/gif"],
    ["image", riff("WEBP"), "image/webp"],
    ["image", Buffer.concat([Buffer.from("BM"), Buffer.alloc(20)]), "image/bmp"],
    ["image", Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), "image/tiff"],
    ["image", Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]), "image/tiff"],
    ["image", Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>"), undefined],
    ["video", ftyp("isom"), "video/mp4"],
    ["video", ftyp("qt  "), "video/quicktime"],
    ["video", ftyp("M4A "), undefined],
    ["video", Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84]), Buffer.from("webm")]), "video/webm"],
    ["video", Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88]), Buffer.from("matroska")]), "video/x-matroska"],
    ["video", riff("AVI "), "video/x-msvideo"],
    ["video", PNG, undefined],
    ["audio", riff("WAVE"), "audio/wav"],
    ["audio", Buffer.from("ID3\x04\x00\x00"), "audio/mpeg"],
    ["audio", Buffer.from([0xff, 0xfb, 0x90, 0x00]), "audio/mpeg"],
    ["audio", Buffer.from([0xff, 0xf1, 0x50, 0x80]), "audio/aac"],
    ["audio", Buffer.from("fLaC\x00\x00"), "audio/flac"],
    ["audio", Buffer.from("OggS\x00\x02"), "audio/ogg"],
    ["audio", ftyp("M4A "), "audio/mp4"],
    ["audio", Buffer.from("#!AMR\n...."), "audio/amr"],
    ["audio", Buffer.from("#!AMR-WB\n...."), "audio/amr-wb"],
    ["audio", riff("AVI "), undefined],
    ["audio", Buffer.from("<html>"), undefined],
  ];
  for (const [kind, bytes, expected] of cases) {
    it(`${kind}: ${expected ?? "refuses"} (${bytes.subarray(0, 12).toString("hex")})`, () => {
      assert.equal(sniffMedia(bytes, kind), expected);
    });
  }
});
