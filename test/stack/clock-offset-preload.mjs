// Test tool, loaded into a certkeeper child with NODE_OPTIONS="--import=<this file>": its JavaScript
// clock (Date.now, new Date()) runs CERTKEEPER_TEST_CLOCK_OFFSET_MS ahead (negative: behind) of the
// machine's, as on a host whose clock is wrong. Timers and TLS (OpenSSL's own clock) are untouched.
const offset = Number(process.env.CERTKEEPER_TEST_CLOCK_OFFSET_MS ?? 0);
if (!Number.isFinite(offset)) throw new Error(`CERTKEEPER_TEST_CLOCK_OFFSET_MS is not a number: ${process.env.CERTKEEPER_TEST_CLOCK_OFFSET_MS}`);

const RealDate = Date;
class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }

  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = ShiftedDate;
