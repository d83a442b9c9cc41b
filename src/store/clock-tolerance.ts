/** Another agent's clock may run a little ahead: a time this far in the future is still believed. */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;
