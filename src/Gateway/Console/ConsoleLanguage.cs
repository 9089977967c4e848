using System.Collections.Frozen;
using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Gateway.AdminConsole;

// Which of the console's languages a request reads in: the one the person picked (a cookie the console's script sets,
// or ?lang= on the sign-in page), else the best of Accept-Language, else English. One catalogue per language, shared by
// the script (i18n/xx.json) and the sign-in page rendered here.
internal sealed class ConsoleLanguage
{
    public const string CookieName = "gateway_lang";
    public const string Default = "en";

    public static readonly IReadOnlyList<string> Supported = ["uz", "ru", "en"];

    private readonly FrozenDictionary<string, FrozenDictionary<string, string>> catalogues;

    public ConsoleLanguage(ConsoleAssets assets)
    {
        var all = new Dictionary<string, FrozenDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var language in Supported)
        {
            var file = assets.Find($"i18n/{language}.json") ?? throw new InvalidOperationException($"The console's {language} catalogue is not embedded");
            using var json = JsonDocument.Parse(file.Content);
            all[language] = json.RootElement.EnumerateObject().ToFrozenDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
        }

        catalogues = all.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public static string? Known(string? language) =>
        language is { Length: >= 2 } && Supported.FirstOrDefault(s => language.StartsWith(s, StringComparison.OrdinalIgnoreCase)) is { } found ? found : null;

    public static string Of(HttpRequest request)
    {
        if (Known(request.Cookies[CookieName]) is { } picked)
        {
            return picked;
        }

        if (StringWithQualityHeaderValue.TryParseList(request.Headers.AcceptLanguage, out var accepted))
        {
            foreach (var value in accepted.OrderByDescending(v => v.Quality ?? 1))
            {
                if (Known(value.Value.Value) is { } language)
                {
                    return language;
                }
            }
        }

        return Default;
    }

    // A missing string falls back to English, then to its key: a page never shows an empty label.
    public string Text(string language, string key) =>
        catalogues.GetValueOrDefault(language)?.GetValueOrDefault(key) ?? catalogues[Default].GetValueOrDefault(key) ?? key;

    public IReadOnlySet<string> Keys(string language) => catalogues[language].Keys.ToFrozenSet(StringComparer.Ordinal);

    public static CookieOptions CookieOptions(HttpRequest request) => new()
    {
        // The script reads and writes it too: it holds nothing but a language code.
        HttpOnly = false,
        Secure = request.IsHttps,
        SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict,
        Path = "/",
        MaxAge = TimeSpan.FromDays(365),
        IsEssential = true,
    };
}
