namespace Gateway.Sources;

// Form tools cannot send X-API-KEY, so their key rides in the URL (/hooks/tilda/{key}). It is taken out of the path
// before anything else sees the request: the access log, metrics, traces and error pages only ever see /hooks/tilda.
internal static class HookKeyInPath
{
    public const string Prefix = "/hooks/";

    public static readonly IReadOnlyList<string> Tools = [SourceTool.Tilda, SourceTool.Elementor, SourceTool.Cf7, SourceTool.Form];

    private static readonly object KeyItem = new();

    public static string? Of(HttpContext context) => context.Items.TryGetValue(KeyItem, out var key) ? key as string : null;

    // "/hooks/tilda/abc" → "/hooks/tilda" and the key "abc"; anything else is left as it is.
    public static bool TrySplit(string? path, out string route, out string key)
    {
        route = "";
        key = "";
        if (path is null || !path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = path.AsSpan(Prefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        var tool = rest[..slash].ToString();
        if (!Tools.Contains(tool.ToLowerInvariant()))
        {
            return false;
        }

        route = Prefix + tool.ToLowerInvariant();
        key = rest[(slash + 1)..].TrimEnd('/').ToString();
        return true;
    }

    // What a trace may record of a hook's path: the route, never the key.
    public static string Redact(string path) => TrySplit(path, out var route, out var key) && key.Length > 0 ? route + "/{key}" : path;

    public static IApplicationBuilder UseHookKeyInPath(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (TrySplit(context.Request.Path.Value, out var route, out var key))
            {
                context.Request.Path = new PathString(route);
                if (key.Length > 0)
                {
                    context.Items[KeyItem] = key;
                }
            }

            return next(context);
        });
}

internal static class SourceTool
{
    public const string Tilda = "tilda";
    public const string Elementor = "elementor";
    public const string Cf7 = "cf7";
    public const string Form = "form";

    // How a lead is named and its form called when the form itself says nothing.
    public static string Title(string tool) => tool switch
    {
        Tilda => "Tilda",
        Elementor => "Elementor",
        Cf7 => "Contact Form 7",
        _ => "Web form",
    };
}
