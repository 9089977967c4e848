using System.Text.Json;
using Gateway.Accounts;
using Gateway.Amo;
using Gateway.Amo.Consent;
using Gateway.Amo.Tokens;
using Gateway.Data;
using Gateway.Operations;
using Gateway.Security;

namespace Gateway.Cli;

// `dotnet run --project src/Gateway -- tokens <verb>`: token chores for an admin without a browser at hand.
internal static class GatewayCli
{
    public const string Usage = """
        Usage:
          tokens import FILE [--force]   import a tokens.json (the PHP gateway's format)
          tokens exchange CODE [--referer HOST]
                                         exchange an authorization code from amoCRM
          tokens status                  show the token state of every account (no token material)
          tokens refresh [--force]       refresh now; --force also resends after an interrupted refresh
          (import, exchange and refresh act on AMO_DOMAIN's account, or on --account DOMAIN from the accounts file)
        """;


    // The keys verb is the Security room's own (it needs no host); the tokens verbs run on a host built without serving it.
    public static async Task<int?> TryRunAsync(string[] args, Func<string[], WebApplication> buildHost)
    {
        if (ApiKeysCli.IsCommand(args))
        {
            return await ApiKeysCli.RunAsync(args, Console.Out, Console.Error);
        }

        if (!IsCommand(args))
        {
            return null;
        }

        // The verb's own words (--force, --referer) are not configuration switches.
        var app = buildHost([]);
        return await RunAsync(app.Services, args);
    }

    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] == "tokens";

    public static Task<int> RunAsync(IServiceProvider services, string[] args) => RunAsync(services, args, Console.Out, Console.Error);

    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length < 2)
        {
            await error.WriteLineAsync(Usage);
            return 2;
        }

        await services.GetRequiredService<Schema>().MigrateAsync(CancellationToken.None);
        services.GetRequiredService<KeyRing>().Prepare();
        var registry = services.GetRequiredService<AccountRegistry>();
        var accountAt = Array.IndexOf(args, "--account");
        var amo = accountAt > 0 ? (accountAt + 1 < args.Length ? registry.Find(args[accountAt + 1]) : null) : registry.Default;
        if (amo is null)
        {
            await error.WriteLineAsync(accountAt + 1 < args.Length
                ? $"Unknown account {args[accountAt + 1]}: --account must name AMO_DOMAIN or a domain in the accounts file."
                : "Unknown account: --account must name AMO_DOMAIN or a domain in the accounts file.");
            return 2;
        }

        var force = args.Contains("--force");
        switch (args[1])
        {
            case "import" when args.Length >= 3:
            {
                var result = await services.GetRequiredService<TokenImporter>().ImportFileAsync(amo, Path.GetFullPath(args[2]), force, CancellationToken.None);
                await output.WriteLineAsync(result.Imported ? $"Imported tokens for {amo.Key}." : $"Not imported: {result.Message}.");
                return result.Imported ? 0 : 1;
            }

            case "exchange" when args.Length >= 3:
            {
                var refererAt = Array.IndexOf(args, "--referer");
                var host = refererAt > 0 && refererAt + 1 < args.Length ? AmoOptionsSetup.NormalizeHost(args[refererAt + 1]) : amo.Domain;

                // The client secret goes to this host: one from the command line is held to the account hosts like a callback's referer.
                if (AmoHosts.Refusal(host, amo.BaseUrl) is { } refusal)
                {
                    await error.WriteLineAsync($"Exchange refused: {refusal}.");
                    return 1;
                }

                var result = await services.GetRequiredService<AccountConnector>().ConnectAsync(amo.Key, host!, args[2], "cli", CancellationToken.None);
                if (result.Outcome != ConnectOutcome.Connected)
                {
                    await error.WriteLineAsync(result.Exchange is { } exchange ? $"Exchange failed: {exchange.Description}" : $"Exchange failed: {result.Message}");
                    return 1;
                }

                await output.WriteLineAsync($"Authorized {amo.Key} (amoCRM account {result.Got!.Subdomain}, id {result.Got.Id}); the access token expires at {result.Saved!.ExpiresAt:O}.");
                return 0;
            }

            case "status":
            {
                var all = await services.GetRequiredService<TokenDiagnostics>().DescribeAllAsync(CancellationToken.None);
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Default.JsonArray));
                return all.Count > 0 ? 0 : 1;
            }

            case "refresh":
            {
                var token = await services.GetRequiredService<AmoTokenManager>().RefreshAsync(amo.Key, force ? RefreshTrigger.Admin : RefreshTrigger.Due, CancellationToken.None);
                await output.WriteLineAsync(token is null ? "No token stored." : $"State: {token.State}; last refresh: {token.LastRefreshOutcome}; expires at {token.ExpiresAt:O}.");
                return token is { State: TokenStates.Active } ? 0 : 1;
            }

            default:
                await error.WriteLineAsync(Usage);
                return 2;
        }
    }
}

// For people reading a terminal: indented, and escaped as the serializer's defaults escape.
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(System.Text.Json.Nodes.JsonArray))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
