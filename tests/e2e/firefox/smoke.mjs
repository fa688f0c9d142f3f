// The officer console in Debian's Firefox ESR, over WebDriver BiDi (puppeteer-core: no browser
// download). Run by tests/e2e/test_firefox_console.py: node smoke.mjs BASE_URL USER PASSWORD
// VISIT_ID. Logs in, approves the request VISIT_ID from the queue, opens the Today board and
// waits for its room; prints one JSON line of what it saw and exits 0, or prints the failure
// and exits 1. Any error on the page fails it.
import puppeteer from "puppeteer-core";

const [base, username, password, visitId] = process.argv.slice(2);
const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";
const WAIT_MS = 20000;
const seen = { version: "", who: "", approved: false, rooms: [] };
const errors = [];

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: FIREFOX,
  headless: true,
  protocolTimeout: 60000,
});
try {
  seen.version = await browser.version();
  const page = await browser.newPage();
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.setViewport({ width: 1366, height: 768 });
  await page.goto(`${base}/officer#requests`);
  await page.waitForSelector("#login:not([hidden])", { timeout: WAIT_MS });
  await page.type("#username", username);
  await page.type("#password", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#console:not([hidden])", { timeout: WAIT_MS });
  seen.who = await page.$eval("#who", (el) => el.textContent);

  const row = `#queue li[data-id="${visitId}"]`;
  await page.waitForSelector(`${row} .approve`, { visible: true, timeout: WAIT_MS });
  await page.click(`${row} .approve`);
  await page.waitForSelector("#confirm-yes", { visible: true, timeout: WAIT_MS });
  await page.click("#confirm-yes");
  await page.waitForFunction((sel) => !document.querySelector(sel), { timeout: WAIT_MS }, row);
  seen.approved = true;

  await page.click('#nav a[href$="#today"]');
  await page.waitForFunction(
    () => document.querySelectorAll("#rooms section.room h2").length > 0,
    { timeout: WAIT_MS },
  );
  seen.rooms = await page.$$eval("#rooms section.room h2", (els) => els.map((e) => e.textContent));
  if (errors.length) throw new Error(`errors on the page: ${errors.join(" | ")}`);
  console.log(JSON.stringify(seen));
} catch (err) {
  console.log(JSON.stringify({ ...seen, failed: String(err), errors }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
