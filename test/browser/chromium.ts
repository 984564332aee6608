// Launching the system Chromium (Debian's `chromium` package) headless with WebGPU, through
// playwright-core. Never lets Playwright download a browser.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** SPOOFSCAN_CHROMIUM overrides the path (e.g. a Chrome elsewhere on a developer machine). */
export const CHROMIUM_PATH = process.env.SPOOFSCAN_CHROMIUM ?? '/usr/bin/chromium';

// --enable-unsafe-webgpu is the one flag WebGPU needs on Linux (without it requestAdapter()
// returns null); Chromium then picks SwiftShader on a machine without a GPU by itself.
// The sandbox flags let it run as root in containers; the rest keep it off the network.
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-first-run',
  '--no-default-browser-check',
];

/** Throws a clear instruction when the browser is missing: the test must fail, not skip. */
export function requireChromium(): string {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}. The browser tests drive the system Chromium: install Debian's package ` +
        '(`sudo apt-get install -y chromium`; CI installs it) or point SPOOFSCAN_CHROMIUM at a Chromium/Chrome binary.',
    );
  }
  return CHROMIUM_PATH;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: requireChromium(), headless: true, args: CHROMIUM_ARGS });
}

/** Collects the page's console errors and uncaught exceptions, to show when a test fails. */
export function recordPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  return problems;
}
