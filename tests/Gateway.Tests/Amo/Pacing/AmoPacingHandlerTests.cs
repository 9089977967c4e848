using System.Text.Json.Nodes;
using Emulator;
using Gateway.Amo;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo.Pacing;

public sealed class AmoPacingHandlerTests
{
    private const string Path = "api/v4/leads/notes";

    [Fact]
    public async Task A_call_whose_guard_says_no_sends_nothing_to_amoCRM_and_answers_Withdrawn()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        var asked = 0;

        var result = await app.Get<AmoClient>().PostAsync(GatewayApp.Domain, Path, Note(), () => { asked++; return Task.FromResult(false); }, CancellationToken.None);

        Assert.Equal(AmoFailure.Withdrawn, result.Failure);
        Assert.Null(result.HttpStatus);
        Assert.Equal(1, asked);
        Assert.DoesNotContain(amo.State.Requests, r => r.Path == "/" + Path);
    }

    [Fact]
    public async Task A_call_whose_guard_says_yes_is_sent_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        var asked = 0;

        var result = await app.Get<AmoClient>().PostAsync(GatewayApp.Domain, Path, Note(), () => { asked++; return Task.FromResult(true); }, CancellationToken.None);

        Assert.NotEqual(AmoFailure.Withdrawn, result.Failure);
        Assert.Equal(1, asked);
        Assert.Single(amo.State.Requests, r => r.Path == "/" + Path);
    }

    private static JsonArray Note() =>
        [new JsonObject { ["entity_id"] = 1, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "x" } }];
}
