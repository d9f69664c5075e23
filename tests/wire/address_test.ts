import assert from "node:assert/strict";
import {
  formatIpv4,
  formatIpv6,
  ipAddressFamily,
  WireError,
  writeIpAddress,
} from "../../wire/mod.ts";

function roundTrip(text: string): string {
  const out = new Uint8Array(16);
  const n = writeIpAddress(text, out, 0);
  return n === 4 ? formatIpv4(out, 0) : formatIpv6(out, 0);
}

Deno.test("IPv4 addresses parse and format", () => {
  for (const a of ["127.0.0.1", "0.0.0.0", "255.255.255.255", "10.20.30.40"]) {
    assert.equal(roundTrip(a), a);
  }
  const out = new Uint8Array(16);
  assert.equal(writeIpAddress("192.168.1.2", out, 0), 4);
  assert.deepEqual([...out.subarray(0, 4)], [192, 168, 1, 2]);
});

Deno.test("IPv6 addresses parse and format in RFC 5952 form", () => {
  const cases: [string, string][] = [
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fe80::1:2", "fe80::1:2"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["2001:db8::", "2001:db8::"],
    ["::ffff:10.1.2.3", "::ffff:10.1.2.3"],
    ["2001:0:0:1::", "2001:0:0:1::"],
    ["1:0:2::3", "1:0:2::3"],
  ];
  for (const [input, expected] of cases) assert.equal(roundTrip(input), expected, input);
});

Deno.test("invalid addresses are rejected", () => {
  for (
    const a of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.1.1.1",
      "a.b.c.d",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::1",
      ":1",
      "1:",
      "fe80::1%eth0",
      "localhost",
    ]
  ) {
    assert.equal(ipAddressFamily(a), undefined, a);
    assert.throws(() => writeIpAddress(a, new Uint8Array(16), 0), WireError, a);
  }
  assert.equal(ipAddressFamily("::1"), "ipv6");
  assert.equal(ipAddressFamily("127.0.0.1"), "ipv4");
});
