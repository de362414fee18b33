/**
 * Text from outside (buyer-supplied ids, failure messages that quote them) as an inline code
 * span for the Temporal UI, which renders summaries and details as Markdown: inside a code span
 * no link, image, autolink, emphasis or HTML is interpreted. The fence is longer than any run of
 * backticks in the text, and line breaks and other control characters are shown escaped, since a
 * blank line would end the span.
 */
export function codeSpan(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it escapes
  const visible = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const longestRun = Math.max(0, ...(visible.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  // CommonMark strips one space from each end of a span: padding keeps edge backticks and spaces.
  const padded = /^[`\s]|[`\s]$/.test(visible) ? ` ${visible} ` : visible;
  return `${fence}${padded}${fence}`;
}
