/**
 * Debian's Chromium for the browser tests and the dashboard bench (TOOLCHAIN.md: installed by apt,
 * launched headless with these flags; never downloaded by playwright). Null, with a message, where it
 * is not installed, so callers skip rather than fail.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed; says so once when it is not. */
export function hasChromium(what: string): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok) console.warn(`skipping ${what}: ${CHROMIUM} is not installed`);
  return ok;
}

/** Launches headless Chromium. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
  });
}
