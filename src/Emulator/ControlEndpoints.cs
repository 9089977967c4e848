using System.Globalization;
using System.Text.Json.Nodes;

namespace Emulator;

// /_emulator: inspect and script the emulator over HTTP. No auth, not logged, not rate-limited.
internal static class ControlEndpoints
{
    public static IEndpointRouteBuilder MapControl(this IEndpointRouteBuilder routes)
    {
        var control = routes.MapGroup("/_emulator");
        control.MapGet("/requests", (EmulatorState state) => AmoResults.PlainJson(new JsonArray([.. state.Requests.Select(RenderRequest)])));
        control.MapGet("/unsorted", Unsorted);
        control.MapPost("/unsorted/{uid}/accept", AcceptAsync);
        control.MapPost("/unsorted/{uid}/decline", (string uid, EmulatorState state) => Decide(state, uid, UnsortedStatus.Declined));
        control.MapGet("/notes", (EmulatorState state) => AmoResults.PlainJson(new JsonArray([.. state.Notes.Select(RenderNote)])));
        control.MapGet("/faults", (EmulatorState state) => AmoResults.PlainJson(RenderFaults(state)));
        control.MapPost("/faults", SetFaultsAsync);
        control.MapPost("/revoke", (EmulatorState state) =>
        {
            state.RevokeAllTokens();
            return Results.NoContent();
        });
        control.MapPost("/accounts", AddAccountAsync);
        control.MapGet("/accounts", (EmulatorState state) => AmoResults.PlainJson(new JsonArray([.. state.Accounts.Select(a => new JsonObject { ["id"] = a.Id, ["subdomain"] = a.Subdomain })])));
        control.MapPost("/tokens", (HttpRequest request, EmulatorState state) =>
        {
            var chosen = request.Query["account"].ToString();
            if ((chosen.Length == 0 ? state.MainAccount : state.FindAccount(chosen)) is not { } account)
            {
                return AmoResults.BadRequest("Unknown account");
            }

            var pair = state.IssueTokens(account);
            return AmoResults.PlainJson(new JsonObject
            {
                ["access_token"] = pair.AccessToken,
                ["refresh_token"] = pair.RefreshToken,
                ["expires_at"] = pair.ExpiresAt.ToUnixTimeSeconds(),
            });
        });
        control.MapPost("/reset", (EmulatorState state) =>
        {
            state.Reset();
            return Results.NoContent();
        });
        control.MapGet("/stats", Stats);
        // Every account's lead count in one look (subdomain: leads), for a bench that waits for several accounts at once.
        control.MapGet("/stats/leads", (EmulatorState state) =>
        {
            var counts = new JsonObject();
            foreach (var account in state.Accounts)
            {
                counts[account.Subdomain] = state.LeadCount(account.Id);
            }

            return AmoResults.PlainJson(counts);
        });
        return routes;
    }

    // ?account=<subdomain or id>: one account's share (its leads, notes, calls and 429s) of an amoCRM several accounts use.
    private static IResult Stats(HttpRequest request, EmulatorState state)
    {
        var chosen = request.Query["account"].ToString();
        if (chosen.Length == 0)
        {
            return AmoResults.PlainJson(new JsonObject
            {
                ["requests"] = state.Requests.Count,
                ["refresh_grants"] = state.RefreshGrants,
                ["code_grants"] = state.CodeGrants,
                ["rate_limited_responses"] = state.RateLimitedResponses,
                ["max_requests_in_any_second"] = state.MaxRequestsInAnySecond(),
                ["leads"] = state.LeadCount(),
                ["contacts"] = state.ContactCount(),
                ["contact_searches"] = state.ContactSearches,
                ["notes"] = state.Notes.Count,
                ["lost_answers"] = state.LostAnswers,
            });
        }

        if (state.FindAccount(chosen) is not { } account)
        {
            return AmoResults.BadRequest("Unknown account");
        }

        return AmoResults.PlainJson(new JsonObject
        {
            ["account"] = account.Subdomain,
            ["requests"] = state.RequestCount(account.Id),
            ["rate_limited_responses"] = state.RateLimitedResponsesOf(account.Id),
            ["max_requests_in_any_second"] = state.MaxRequestsInAnySecond(account.Id),
            ["leads"] = state.LeadCount(account.Id),
            ["contacts"] = state.ContactCount(account.Id),
        });
    }

    private static JsonObject RenderRequest(RecordedRequest request) => new()
    {
        ["method"] = request.Method,
        ["path"] = request.Path,
        ["query"] = request.Query,
        ["body"] = request.Body,
        ["bearer"] = request.Bearer,
        ["status"] = request.Status,
        ["received_at"] = request.ReceivedAt.ToString("O", CultureInfo.InvariantCulture),
    };

    private static JsonObject RenderNote(NoteRecord note) => new()
    {
        ["id"] = note.Id,
        ["entity_id"] = note.EntityId,
        ["note_type"] = note.NoteType,
        ["text"] = note.Text,
        ["request_id"] = note.RequestId,
    };

    private static IResult Unsorted(EmulatorState state)
    {
        var notes = state.Notes;
        var items = state.Unsorted.Select(u => new JsonObject
        {
            ["uid"] = u.Uid,
            ["source_uid"] = u.SourceUid,
            ["request_id"] = u.RequestId,
            ["lead_id"] = u.LeadId,
            ["contact_id"] = u.ContactId,
            ["account_id"] = u.AccountId,
            ["created_at"] = u.CreatedAt,
            ["status"] = u.Status,
            ["item"] = u.Item.DeepClone(),
            ["notes"] = new JsonArray([.. notes.Where(n => n.EntityId == u.LeadId).Select(RenderNote)]),
        });
        return AmoResults.PlainJson(new JsonArray([.. items]));
    }

    // What a manager does in amoCRM's interface: the item leaves the unsorted list (its lead and contact stay).
    // Accepting tells the webhook destinations the lead was added (declining does not: the lead is gone from view).
    private static async Task<IResult> AcceptAsync(string uid, EmulatorState state, HookState hooks)
    {
        if (!state.DecideUnsorted(uid, UnsortedStatus.Accepted))
        {
            return AmoResults.NotFound();
        }

        if (state.Unsorted.FirstOrDefault(u => u.Uid == uid) is { } item && state.Leads.FirstOrDefault(l => l.Id == item.LeadId) is { } lead)
        {
            await hooks.LeadAddedAsync(lead);
        }

        return Results.NoContent();
    }

    private static IResult Decide(EmulatorState state, string uid, string status) =>
        state.DecideUnsorted(uid, status) ? Results.NoContent() : AmoResults.NotFound();

    // {"subdomain":"stranger","id":31000001}: a second account whose consent redeems here for its own tokens.
    private static async Task<IResult> AddAccountAsync(HttpRequest request, EmulatorState state, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        if (JsonRead.TryParse(await reader.ReadToEndAsync(cancellationToken)) is not JsonObject body
            || !JsonRead.TryGetString(body["subdomain"], out var subdomain) || string.IsNullOrWhiteSpace(subdomain)
            || !JsonRead.TryGetInteger(body["id"], out var id))
        {
            return AmoResults.BadRequest("Expected {\"subdomain\": \"name\", \"id\": 123}");
        }

        try
        {
            var account = state.AddAccount(subdomain, id);
            return AmoResults.PlainJson(new JsonObject { ["id"] = account.Id, ["subdomain"] = account.Subdomain });
        }
        catch (ArgumentException ex)
        {
            return AmoResults.BadRequest(ex.Message);
        }
    }

    private static readonly HashSet<string> AccountFaultNames = ["outage", "delay_ms", "server_error_ratio", "block_mode"];

    private static IResult SetAccountFaults(EmulatorState state, string chosen, JsonObject faults)
    {
        if (state.FindAccount(chosen) is not { } account)
        {
            return AmoResults.BadRequest("Unknown account");
        }

        if (faults.Select(p => p.Key).FirstOrDefault(k => !AccountFaultNames.Contains(k)) is { } other)
        {
            return AmoResults.BadRequest($"{other} is emulator-wide; per account: {string.Join(", ", AccountFaultNames)}");
        }

        try
        {
            state.SetFaults(account.Id, f => f with
            {
                Outage = faults["outage"]?.GetValue<bool>() ?? f.Outage,
                Delay = faults["delay_ms"] is { } delay ? TimeSpan.FromMilliseconds(delay.GetValue<int>()) : f.Delay,
                ServerErrorRatio = faults["server_error_ratio"]?.GetValue<double>() ?? f.ServerErrorRatio,
                BlockMode = faults["block_mode"]?.GetValue<int>() ?? f.BlockMode,
            });
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentOutOfRangeException)
        {
            return AmoResults.BadRequest("Wrong value: " + ex.Message);
        }

        var set = state.FaultsOf(account.Id);
        return AmoResults.PlainJson(new JsonObject
        {
            ["account"] = account.Subdomain,
            ["outage"] = set.Outage,
            ["delay_ms"] = (long)set.Delay.TotalMilliseconds,
            ["server_error_ratio"] = set.ServerErrorRatio,
            ["block_mode"] = set.BlockMode,
        });
    }

    private static JsonObject RenderFaults(EmulatorState state) => new()
    {
        ["outage"] = state.Outage,
        ["delay_ms"] = (long)state.Delay.TotalMilliseconds,
        ["server_error_ratio"] = state.ServerErrorRatio,
        ["seed"] = state.Seed,
        ["block_mode"] = state.BlockMode,
        ["lose_next_refresh_answer"] = state.LoseNextRefreshAnswer,
        ["abort_connections"] = state.AbortConnections,
        ["deny_consent"] = state.DenyConsent,
        ["lost_answer_ratio"] = state.LostAnswerRatio,
        ["lost_answer_mode"] = state.LostAnswerMode,
        ["hold_next_answer"] = new JsonArray([.. state.HeldAnswerPaths.Select(p => (JsonNode)p)]),
    };

    // Absent keys stay as they are; the answer is the resulting fault set.
    private static async Task<IResult> SetFaultsAsync(HttpRequest request, EmulatorState state, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        if (JsonRead.TryParse(await reader.ReadToEndAsync(cancellationToken)) is not JsonObject faults)
        {
            return AmoResults.BadRequest("Expected a JSON object");
        }

        if (request.Query["account"].ToString() is { Length: > 0 } chosen)
        {
            return SetAccountFaults(state, chosen, faults);
        }

        try
        {
            if (faults["block_mode"] is { } blockMode && blockMode.GetValue<int>() is not (0 or 402 or 403))
            {
                return AmoResults.BadRequest("block_mode must be 0, 402 or 403");
            }

            if (faults["lost_answer_mode"] is { } lostMode && !LostAnswer.IsMode(lostMode.GetValue<string>()))
            {
                return AmoResults.BadRequest("lost_answer_mode must be timeout, reset, 502, 503 or 504");
            }

            if (faults["hold_next_answer"] is { } hold && (hold.GetValue<string>() is not { } holdPath || !holdPath.StartsWith("/api/v4/", StringComparison.Ordinal)))
            {
                return AmoResults.BadRequest("hold_next_answer must be a path under /api/v4/, such as /api/v4/leads/complex");
            }

            if (faults["outage"] is { } outage)
            {
                state.Outage = outage.GetValue<bool>();
            }

            if (faults["delay_ms"] is { } delay)
            {
                state.Delay = TimeSpan.FromMilliseconds(delay.GetValue<int>());
            }

            if (faults["seed"] is { } seed)
            {
                state.Seed = seed.GetValue<int>();
            }

            if (faults["server_error_ratio"] is { } ratio)
            {
                state.ServerErrorRatio = ratio.GetValue<double>();
            }

            if (faults["block_mode"] is { } mode)
            {
                state.BlockMode = mode.GetValue<int>();
            }

            if (faults["lose_next_refresh_answer"] is { } lose)
            {
                state.LoseNextRefreshAnswer = lose.GetValue<bool>();
            }

            if (faults["abort_connections"] is { } abort)
            {
                state.AbortConnections = abort.GetValue<bool>();
            }

            if (faults["deny_consent"] is { } deny)
            {
                state.DenyConsent = deny.GetValue<bool>();
            }

            if (faults["lost_answer_ratio"] is { } lostRatio)
            {
                state.LostAnswerRatio = lostRatio.GetValue<double>();
            }

            if (faults["lost_answer_mode"] is { } mode2)
            {
                state.LostAnswerMode = mode2.GetValue<string>();
            }

            if (faults["hold_next_answer"] is { } holdNext)
            {
                _ = state.HoldNextAnswer(holdNext.GetValue<string>());
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            return AmoResults.BadRequest("Wrong value type: " + ex.Message);
        }

        return AmoResults.PlainJson(RenderFaults(state));
    }
}
