using Gateway.Security;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Gateway.Hosting;
using Microsoft.Extensions.Options;

namespace Gateway.Amo;

internal static class InfoApi
{
    public static RouteGroupBuilder MapInfo(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/info").RequireScope(Scopes.Read).WithTags("Info");
        group.MapGet("/pipelines", (AmoInfoCache cache, IOptions<AmoOptions> options, CancellationToken ct) =>
            AnswerAsync(cache.PipelinesAsync(options.Value.AccountKey, ct), "Failed to get pipelines"));
        group.MapGet("/pipelines/{id}", (string id, AmoInfoCache cache, IOptions<AmoOptions> options, CancellationToken ct) =>
            long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pipelineId) && pipelineId > 0
                ? AnswerAsync(cache.PipelineAsync(options.Value.AccountKey, pipelineId, ct), "Pipeline not found")
                : Task.FromResult(Envelope.Fail(StatusCodes.Status400BadRequest, "Pipeline id must be a positive integer")));
        group.MapGet("/lead-fields", (AmoInfoCache cache, IOptions<AmoOptions> options, CancellationToken ct) =>
            AnswerAsync(cache.LeadFieldsAsync(options.Value.AccountKey, ct), "Failed to get lead fields"));
        group.MapGet("/contact-fields", (AmoInfoCache cache, IOptions<AmoOptions> options, CancellationToken ct) =>
            AnswerAsync(cache.ContactFieldsAsync(options.Value.AccountKey, ct), "Failed to get contact fields"));
        group.MapGet("/account", (AmoInfoCache cache, IOptions<AmoOptions> options, CancellationToken ct) =>
            AnswerAsync(cache.AccountAsync(options.Value.AccountKey, ct), "Failed to get account info"));
        return group;
    }

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
