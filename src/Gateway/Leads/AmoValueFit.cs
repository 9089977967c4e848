using System.Diagnostics.CodeAnalysis;

namespace Gateway.Leads;

// Cuts text to what amoCRM accepts and remembers what was cut, so the whole text can go into the lead's note.
internal sealed class AmoValueFit
{
    // amoCRM refuses a custom field value over 256 characters with a 400 for the whole item (amocrm-api-php #400, #224);
    // tracking fields and form metadata are held to the same, as the limit there is unverified.
    public const int ValueLimit = 256;

    // The documented limit for entity names; intake already refuses longer lead and contact names.
    public const int NameLimit = 255;

    // A word boundary further back than this is not worth the lost text: cut hard instead.
    private const int WordBoundaryWindow = 40;

    private const char Ellipsis = '…';

    public List<KeyValuePair<string, string>> Cut { get; } = [];

    // Absent stays absent: optional fields go through here as they are.
    [return: NotNullIfNotNull(nameof(text))]
    public string? Fit(string label, string? text, int limit = ValueLimit)
    {
        if (text is null || text.Length <= limit)
        {
            return text;
        }

        Cut.Add(new(label, text));
        return Shorten(text, limit);
    }

    private static string Shorten(string text, int limit)
    {
        var end = limit - 1;
        var space = text.LastIndexOfAny([' ', '\t', '\n', '\r'], end);
        if (space > 0 && space >= end - WordBoundaryWindow)
        {
            end = space;
        }
        else if (char.IsHighSurrogate(text[end - 1]))
        {
            end--;
        }

        return string.Concat(text.AsSpan(0, end).TrimEnd(), Ellipsis.ToString());
    }
}
