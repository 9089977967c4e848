using System.Text;

namespace Gateway.Leads;

// "{name}" placeholders in a text an admin wrote (a form profile's lead name, a follow-up task's text): each replaced by
// what Lookup gives for the name between the braces, trimmed; an unclosed "{" and the rest of the text stay as written.
internal static class TextTemplate
{
    // Unknown: what a name Lookup does not know becomes (the placeholder itself when null, so a typo shows).
    public static string Render(string template, Func<string, string?> lookup, string? unknown)
    {
        var text = new StringBuilder();
        var at = 0;
        while (at < template.Length)
        {
            var open = template.IndexOf('{', at);
            var close = open < 0 ? -1 : template.IndexOf('}', open);
            if (close < 0)
            {
                text.Append(template, at, template.Length - at);
                break;
            }

            text.Append(template, at, open - at);
            text.Append(lookup(template[(open + 1)..close].Trim()) ?? unknown ?? template[open..(close + 1)]);
            at = close + 1;
        }

        return text.ToString().Trim();
    }
}
