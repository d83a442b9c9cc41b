/** One line of the preflight's checklist: what was checked, and the fix when it failed. */
export interface PreflightCheck {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}
