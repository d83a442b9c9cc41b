import { runProcess } from './run-process.js';

export interface StartupMeasurement {
  runs: number;
  /** Median wall seconds of `node -e ''`: what any Node program pays. */
  nodeSeconds: number;
  helpSeconds: number | null;
  /** null ("n/a") when the build measured has no `--version` (it fails, or prints no one-line version). */
  versionSeconds: number | null;
  version: string | null;
}

/** Start-up of `certkeeper --help` and `--version`, the median of `runs` each, one after the other, with `node -e ''` for reference. */
export async function measureStartup(bin: string, runs: number): Promise<StartupMeasurement> {
  process.stdout.write(`  start-up (median of ${runs})… `);
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const median = async (command: string, args: string[], accept: (stdout: string, code: number | null) => boolean) => {
    const times: number[] = [];
    let last = '';
    for (let i = 0; i < runs; i++) {
      const result = await runProcess(command, args, env);
      if (!accept(result.stdout, result.code)) return { seconds: null, stdout: result.stdout };
      times.push(result.wallSeconds);
      last = result.stdout;
    }
    times.sort((a, b) => a - b);
    const middle = Math.floor(times.length / 2);
    return { seconds: times.length % 2 ? times[middle]! : (times[middle - 1]! + times[middle]!) / 2, stdout: last };
  };
  const node = await median(process.execPath, ['-e', ''], (_, code) => code === 0);
  const help = await median(bin, ['--help'], (stdout, code) => code === 0 && /usage/i.test(stdout));
  const version = await median(bin, ['--version'], (stdout, code) => code === 0 && stdout.trim().split('\n').length === 1 && /\d+\.\d+\.\d+/.test(stdout));
  const result: StartupMeasurement = {
    runs,
    nodeSeconds: node.seconds ?? NaN,
    helpSeconds: help.seconds,
    versionSeconds: version.seconds,
    version: version.seconds === null ? null : version.stdout.trim(),
  };
  const shown = (seconds: number | null) => (seconds === null ? 'n/a' : `${seconds.toFixed(3)} s`);
  process.stdout.write(`--help ${shown(result.helpSeconds)}, --version ${shown(result.versionSeconds)}, node -e '' ${shown(result.nodeSeconds)}\n`);
  return result;
}
