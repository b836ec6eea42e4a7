/**
 * Headless Debian chromium (/usr/bin/chromium, or CHROMIUM_PATH) driven by puppeteer-core: no
 * browser download, a fresh profile per launch, no background traffic. Without the binary the
 * browser tests are skipped with a message, except under CI=true where that is a failure
 * (scripts/setup.sh installs it).
 *
 * @example
 * ```ts
 * const b = await launchChromium();
 * const page = await b.browser.newPage();
 * await b.close();
 * ```
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  const msg = `browser tests: ${CHROMIUM} is missing (apt-get install chromium, or bash scripts/setup.sh)`;
  if (process.env.CI === 'true') throw new Error(msg);
  console.warn(`${msg}: skipped`);
}

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
];

export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'frames-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
    defaultViewport: { width: 1200, height: 900 },
    timeout: 60_000,
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
