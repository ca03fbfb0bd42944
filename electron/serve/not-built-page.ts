/**
 * What `threadline serve` shows when the dashboard has not been built: the API still works,
 * and the page says how to build the dashboard. No scripts, so the strict CSP holds.
 */
export function notBuiltPage(webRoot: string | null): string {
  const where = webRoot ? `<p>It was looked for in <code>${escapeHtml(webRoot)}</code>.</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Threadline: dashboard not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:0 .25em}</style>
</head>
<body>
<h1>The Threadline dashboard is not built</h1>
<p>This <code>threadline serve</code> runs the engine and its API at <code>/api</code>, but has no dashboard to show.</p>
${where}
<p>Build it in the Threadline project folder with <code>npm run build</code>, then start <code>threadline serve</code> again.</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
