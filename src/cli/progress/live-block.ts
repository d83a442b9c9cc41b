import type { Writable } from 'node:stream';

/**
 * A block of lines at the bottom of a terminal, redrawn in place: the cursor goes up over the lines
 * drawn last, clears to the end of the screen, and the new lines are written in one write (no flicker).
 * A log line for the same terminal goes through `interleave`: the block is cleared, the line written, the
 * block drawn again below it, so neither garbles the other. Terminal writes are synchronous in Node, so
 * stdout and stderr keep this order.
 */
export class LiveBlock {
  private drawn: string[] = [];

  constructor(private readonly out: Writable) {}

  draw(lines: string[]): void {
    this.out.write(`${this.clear()}${lines.map((line) => `${line}\n`).join('')}`);
    this.drawn = lines;
  }

  /** Runs `writeLine` (a log line to this terminal) with the block out of the way, then draws it back. */
  interleave(writeLine: () => void): void {
    if (this.drawn.length === 0) return writeLine();
    this.out.write(this.clear());
    writeLine();
    this.out.write(this.drawn.map((line) => `${line}\n`).join(''));
  }

  /** Leaves what is drawn as ordinary lines: the next draw starts a new block below them. */
  commit(): void {
    this.drawn = [];
  }

  private clear(): string {
    return this.drawn.length > 0 ? `\r\x1b[${this.drawn.length}A\x1b[J` : '';
  }
}
