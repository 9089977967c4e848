using System.Collections.Frozen;
using System.Security.Cryptography;

// Not Gateway.Console: a namespace of that name would hide System.Console from every Gateway.* file.
namespace Gateway.AdminConsole;

internal sealed record ConsoleAsset(byte[] Content, string ContentType, string ETag);

// The console's static files, embedded in the gateway's assembly (Gateway.csproj: Console/Assets/** as "console/…"):
// read once at start-up, so a server without internet or a writable disk serves them, and Native AOT keeps them.
internal sealed class ConsoleAssets
{
    private const string Prefix = "console/";

    private readonly FrozenDictionary<string, ConsoleAsset> files;

    public ConsoleAssets()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var found = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            // MSBuild's %(RecursiveDir) uses the build machine's separator.
            var path = name[Prefix.Length..].Replace('\\', '/');
            found[path] = new ConsoleAsset(bytes, ContentTypeOf(path), "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }

        files = found.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public IEnumerable<string> Paths => files.Keys;

    public ConsoleAsset? Find(string path) => files.GetValueOrDefault(path);

    private static string ContentTypeOf(string path) => Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".json" => "application/json; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}
