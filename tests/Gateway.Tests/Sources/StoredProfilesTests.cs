using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Security;

namespace Gateway.Tests.Sources;

// Issue 18, the Sources page's API: form profiles saved in the database beside SOURCES_FILE (checked as the file's are,
// the file's read-only), and a preview through the real mapping that stores and sends nothing.
public sealed class StoredProfilesTests
{
    private const string BotKey = "bot-key-bbbbbbbbbbbbbbbbbb";
    private const string NoContact = "Mijoz=Sardor&Aloqa=%2B998+90+222+33+44&formid=form555";

    private static async Task<(AmoEmulator Amo, GatewayApp App)> StartAsync()
    {
        var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-profiles-").FullName;
        SecurityTestKit.WriteKeysFile(dir, SecurityTestKit.Entry("bot", BotKey));
        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), """{"profiles": [{"source": "cf7", "form": "Contact", "fields": {"your-tel": "contact.phone"}}]}""");
        var app = new GatewayApp(amo, dataDir: dir);
        await app.AuthorizeAsync();
        return (amo, app);
    }

    [Fact]
    public async Task The_sources_routes_need_the_admin_scope()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var bot = app.CreateAnonymousClient();
        bot.DefaultRequestHeaders.Add("X-API-KEY", BotKey);
        using var nobody = app.CreateAnonymousClient();

        foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/v1/admin/sources"), (HttpMethod.Put, "/api/v1/admin/sources/profiles"), (HttpMethod.Delete, "/api/v1/admin/sources/profiles?source=form"), (HttpMethod.Post, "/api/v1/admin/sources/preview") })
        {
            await ApiAssert.FailureAsync(await bot.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") }), HttpStatusCode.Forbidden, "Forbidden: this needs the \"admin\" scope");
            Assert.Equal(HttpStatusCode.Unauthorized, (await nobody.SendAsync(new HttpRequestMessage(method, path))).StatusCode);
        }
    }

    [Fact]
    public async Task A_profile_saved_in_the_console_maps_the_next_submission_and_a_file_profiles_form_is_a_409()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var admin = app.CreateKeyedClient();
        using var tilda = app.CreateAnonymousClient();

        await ApiAssert.FailureAsync(await admin.PutAsync("/api/v1/admin/sources/profiles", Json("""{"source":"cf7","form":"contact","fields":{}}""")), HttpStatusCode.Conflict, "SOURCES_FILE has a profile for cf7 form contact; change it there");
        var bad = await ApiAssert.FailureAsync(await admin.PutAsync("/api/v1/admin/sources/profiles", Json("""{"source":"tilda","fields":{"Aloqa":"contact.fax"}}""")), HttpStatusCode.UnprocessableEntity, "Validation failed");
        Assert.Contains("target must be", (string?)bad!["profile"], StringComparison.Ordinal);
        await ApiAssert.SuccessDataAsync(await admin.PutAsync("/api/v1/admin/sources/profiles", Json("""{"source":"tilda","form":"form555","fields":{"Mijoz":"contact.name","Aloqa":"contact.phone"},"defaults":{"tags":["console"]}}""")));

        Assert.Equal(HttpStatusCode.OK, (await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", FormSamples.Form(NoContact))).StatusCode);

        var item = await Eventually.SingleAsync(() => amo.State.Unsorted, "the unsorted item");
        Assert.Equal("Sardor", (string?)item.Item["_embedded"]!["contacts"]![0]!["name"]);
        var listed = (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/sources")))["profiles"]!.AsArray();
        Assert.Contains(listed, p => (string?)p!["origin"] == "file" && (bool?)p["editable"] == false && (string?)p["profile"]!["form"] == "Contact");
        Assert.Contains(listed, p => (string?)p!["origin"] == "database" && (string?)p["profile"]!["fields"]!["Aloqa"] == "contact.phone");
        await ApiAssert.FailureAsync(await admin.DeleteAsync("/api/v1/admin/sources/profiles?source=cf7&form=Contact"), HttpStatusCode.Conflict, "This profile is in SOURCES_FILE; change it there");
        await ApiAssert.SuccessDataAsync(await admin.DeleteAsync("/api/v1/admin/sources/profiles?source=tilda&form=form555"));
        await ApiAssert.FailureAsync(await admin.DeleteAsync("/api/v1/admin/sources/profiles?source=tilda&form=form555"), HttpStatusCode.NotFound, "Profile not found");
    }

    [Fact]
    public async Task The_preview_shows_the_amocrm_item_a_profile_would_make_and_stores_and_sends_nothing()
    {
        var (amo, app) = await StartAsync();
        await using var _ = amo;
        await using var __ = app;
        using var admin = app.CreateKeyedClient();
        using var tilda = app.CreateAnonymousClient();
        await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", FormSamples.Form(NoContact));
        var rejected = (long)(await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions?status=rejected")))["submissions"]![0]!["id"]!;

        var asItIs = await ApiAssert.SuccessDataAsync(await admin.PostJsonAsync("/api/v1/admin/sources/preview", $$"""{"submission_id":{{rejected}}}"""));
        var fixedOne = await ApiAssert.SuccessDataAsync(await admin.PostJsonAsync("/api/v1/admin/sources/preview",
            "{\"submission_id\":" + rejected + ""","profile":{"source":"tilda","form":"form555","fields":{"Mijoz":"contact.name","Aloqa":"contact.phone"}}}"""));
        var pasted = await ApiAssert.SuccessDataAsync(await admin.PostJsonAsync("/api/v1/admin/sources/preview", """{"source":"form","body":"name=Aziza&phone=%2B998901234567"}"""));

        Assert.Equal("rejected", (string?)asItIs["would_be"]);
        Assert.NotNull(asItIs["problems"]!["contact"]);
        Assert.Null(asItIs["amo_item"]);
        Assert.Equal("accepted", (string?)fixedOne["would_be"]);
        Assert.Equal("Sardor", (string?)fixedOne["amo_item"]!["_embedded"]!["contacts"]![0]!["name"]);
        Assert.Contains("998902223344", fixedOne["amo_item"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("accepted", (string?)pasted["would_be"]);
        Assert.Empty(amo.State.Unsorted);
        Assert.Single((await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/submissions")))["submissions"]!.AsArray());
        Assert.Empty((await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/leads")))["leads"]!.AsArray());
        await ApiAssert.FailureAsync(await admin.PostJsonAsync("/api/v1/admin/sources/preview", """{"source":"fax"}"""), HttpStatusCode.UnprocessableEntity, "Validation failed");
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
