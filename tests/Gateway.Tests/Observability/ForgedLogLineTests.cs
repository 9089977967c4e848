using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Observability;

// A stranger controls a request's path, its headers and its body (and, through a lead, what amoCRM answers about it):
// whatever they send, every line the gateway writes is one of its own lines.
public sealed partial class ForgedLogLineTests
{
    private const string Forged = "FAKE";

    [Theory]
    [Trait("Kind", "Process")]
    [InlineData("text")]
    [InlineData("json")]
    public async Task Control_characters_in_a_request_never_start_a_line_of_their_own(string format)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?>
        {
            ["LOG_LEVEL"] = "debug",
            ["LOG_FORMAT"] = format,
            ["LOG_ERRORS"] = "true",
            // amoCRM's error about a lead is logged as an error (and so also in errors.log) when the gateway gives up on it.
            ["OUTBOX_MAX_ATTEMPTS"] = "1",
        });
        await using var gateway = await GatewayProcess.StartAsync(environment, dir);
        using var client = gateway.CreateKeyedClient();

        // The path: CR LF, then a forged line that recolours the terminal, DEL, NEL and a Unicode line separator.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/x%0d%0aFAKE-PATH%1b%5b31m%7f%c2%85%e2%80%a8FAKE-LS%0aFAKE-LF")).StatusCode);

        // Headers: HTTP carries no CR or LF in them, but every other control character.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/no/such/route"))
        {
            request.Headers.TryAddWithoutValidation("User-Agent", "agent\u001b[2J\u001b[31mFAKE-UA");
            request.Headers.TryAddWithoutValidation("X-Request-Id", "id\u001bFAKE-RID");
            request.Headers.TryAddWithoutValidation("Origin", "https://a.example\u001b]0;FAKE-ORIGIN\u0007");
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7\u001bFAKE-XFF");
            Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(request)).StatusCode);
        }

        // The body: a lead with a forged line in its name, then amoCRM's answer about another echoing one back.
        await client.PostJsonAsync("/api/v1/leads/unsorted", """{"lead":{"name":"Mijoz\r\nFAKE-BODY\u001b[31m"},"contact":{"phone":"+998901234567"}}""");
        amo.State.EnqueueResponse("/api/v4/leads/unsorted/forms", 503,
            """{"title":"Service Unavailable","status":503,"detail":"name \r\nFAKE-AMO \u001b[31m is invalid"}""", "application/problem+json");
        await client.PostJsonAsync("/api/v1/leads/unsorted", Json.MinimalLead);

        await Eventually.TrueAsync(() => gateway.Output.Contains("FAKE-AMO", StringComparison.Ordinal), "amoCRM's answer in the log");
        var errorsLog = Path.Combine(environment["DATA_DIR"]!, "logs", "errors.log");
        await Eventually.TrueAsync(() => File.Exists(errorsLog) && File.ReadAllText(errorsLog).Contains("FAKE-AMO", StringComparison.Ordinal), "amoCRM's answer in errors.log");

        var lines = gateway.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains(lines, l => l.Contains("FAKE-PATH", StringComparison.Ordinal));
        AssertOnlyRealLines(lines, format == "json" ? IsJsonLine : TextLine().IsMatch);
        Assert.DoesNotContain('\u001b', gateway.Output);
        if (format == "text")
        {
            // Escaped, not dropped: the operator still sees what was sent.
            Assert.Contains(lines, l => l.Contains(@"HTTP GET /x\r\nFAKE-PATH\x1b[31m\x7f\x85\u2028FAKE-LS\nFAKE-LF answered 404", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains(@"name \r\nFAKE-AMO \x1b[31m is invalid", StringComparison.Ordinal));
        }

        var fileLines = (await File.ReadAllLinesAsync(errorsLog)).Where(l => l.Length > 0).ToList();
        AssertOnlyRealLines(fileLines, ErrorFileLine().IsMatch);
        Assert.Contains(fileLines, l => l.Contains(@"name \r\nFAKE-AMO \x1b[31m is invalid", StringComparison.Ordinal));
    }

    private static void AssertOnlyRealLines(List<string> lines, Func<string, bool> isRealLine)
    {
        var forged = lines.Where(l => !isRealLine(l) || l.TrimStart().StartsWith(Forged, StringComparison.Ordinal)).ToList();
        Assert.True(forged.Count == 0, "lines that are not the gateway's own:\n" + string.Join("\n", forged));
        var raw = lines.Where(l => l.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029')).ToList();
        Assert.True(raw.Count == 0, "lines with raw control characters:\n" + string.Join("\n", raw.Select(l => Gateway.Observability.LogText.Escape(l))));
    }

    private static bool IsJsonLine(string line)
    {
        try
        {
            return line.StartsWith('{') && JsonNode.Parse(line) is JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): [\w.]+\[\d+\] ")]
    private static partial Regex TextLine();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT[\d:.]+\+00:00 \[(Error|Critical)\] [\w.]+: ")]
    private static partial Regex ErrorFileLine();
}
