using Gateway.Security;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Gateway.Hosting;
using Gateway.Accounts;

namespace Gateway.Amo;

internal static class InfoApi
{
    public static RouteGroupBuilder MapInfo(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/info").RequireScope(Scopes.Read).WithTags("Info");
        group.MapGet("/pipelines", (HttpContext context, AmoInfoCache cache, AccountRegistry registry, CancellationToken ct) =>
            ForCaller(context, registry, account => cache.PipelinesAsync(account, ct), "Failed to get pipelines"));
        group.MapGet("/pipelines/{id}", (string id, HttpContext context, AmoInfoCache cache, AccountRegistry registry, CancellationToken ct) =>
            long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pipelineId) && pipelineId > 0
                ? ForCaller(context, registry, account => cache.PipelineAsync(account, pipelineId, ct), "Pipeline not found")
                : Task.FromResult(Envelope.Fail(StatusCodes.Status400BadRequest, "Pipeline id must be a positive integer")));
        group.MapGet("/lead-fields", (HttpContext context, AmoInfoCache cache, AccountRegistry registry, CancellationToken ct) =>
            ForCaller(context, registry, account => cache.LeadFieldsAsync(account, ct), "Failed to get lead fields"));
        group.MapGet("/contact-fields", (HttpContext context, AmoInfoCache cache, AccountRegistry registry, CancellationToken ct) =>
            ForCaller(context, registry, account => cache.ContactFieldsAsync(account, ct), "Failed to get contact fields"));
        group.MapGet("/account", (HttpContext context, AmoInfoCache cache, AccountRegistry registry, CancellationToken ct) =>
            ForCaller(context, registry, account => cache.AccountAsync(account, ct), "Failed to get account info"));
        return group;
    }

    // The caller's account (its key's, or ?account= for an admin): another account is not found.
    private static Task<IResult> ForCaller(HttpContext context, AccountRegistry registry, Func<string, Task<AmoResult>> call, string error) =>
        CallerAccount.Of(context, registry) is { } account ? AnswerAsync(call(account.Key), error) : Task.FromResult(CallerAccount.NotFound());

    private static async Task<IResult> AnswerAsync(Task<AmoResult> call, string error)
    {
        var result = await call;
        if (!result.Ok)
        {
            return AmoFailureEnvelope.ToEnvelope(result, error);
        }

        // A cached answer is served many times: serialise its envelope once, not per request.
        var bytes = Serialized.GetValue(result, static r => JsonSerializer.SerializeToUtf8Bytes(new Envelope { Success = true, Data = r.Body }, Envelope.TypeInfo));
        return Results.Bytes(bytes, "application/json; charset=utf-8");
    }

    private static readonly ConditionalWeakTable<AmoResult, byte[]> Serialized = new();
}
