using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.AdminConsole;

// Issue 18: the Leads page finds a person's leads by phone, email or name through the blind index, never by plaintext.
public sealed class LeadSearchTests
{
    [Fact]
    public async Task Leads_are_found_by_phone_as_typed_any_way_by_email_in_any_case_and_by_name_however_spaced()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        var aziza = await admin.PostQueuedAsync("""{"lead":{"name":"Order 1"},"contact":{"name":"Aziza Karimova","phone":"+998 90 123-45-67","email":"Aziza@Example.uz"}}""", HttpStatusCode.OK);
        var bobur = await admin.PostQueuedAsync("""{"lead":{"name":"Order 2"},"contact":{"name":"Bobur Aliyev","phone":"901112233","email":"bobur@example.uz"}}""", HttpStatusCode.OK);
        var again = await admin.PostQueuedAsync("""{"lead":{"name":"Order 3"},"contact":{"name":"aziza  karimova","phone":"998901234567"}}""", HttpStatusCode.OK);

        async Task<long[]> FindAsync(string query) =>
            [.. (await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/leads?" + query)))["leads"]!.AsArray().Select(l => (long)l!["id"]!)];

        Assert.Equal([again, aziza], await FindAsync("phone=" + Uri.EscapeDataString("90 123 45 67")));
        Assert.Equal([again, aziza], await FindAsync("phone=" + Uri.EscapeDataString("+998(90)1234567")));
        Assert.Equal([bobur], await FindAsync("phone=" + Uri.EscapeDataString("+998 90 111 22 33")));
        Assert.Equal([aziza], await FindAsync("email=" + Uri.EscapeDataString(" AZIZA@example.UZ ")));
        Assert.Equal([again, aziza], await FindAsync("name=" + Uri.EscapeDataString("  AZIZA   Karimova ")));
        Assert.Equal([aziza], await FindAsync("name=Aziza%20Karimova&email=aziza@example.uz"));
        Assert.Equal([bobur], await FindAsync("name=Bobur%20Aliyev&status=delivered"));
        Assert.Empty(await FindAsync("name=Aziza"));
        Assert.Empty(await FindAsync("phone=" + Uri.EscapeDataString("+998 90 999 99 99")));
        await ApiAssert.FailureAsync(await admin.GetAsync("/api/v1/admin/leads?email=" + new string('a', 400)), HttpStatusCode.UnprocessableEntity, "Validation failed");
    }

    [Fact]
    public async Task The_leads_row_keeps_only_keyed_hashes_of_the_phone_email_and_name()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var admin = app.CreateKeyedClient();
        var id = await admin.PostQueuedAsync("""{"lead":{"name":"Order"},"contact":{"name":"Aziza Karimova","phone":"+998901234567","email":"aziza@example.uz"}}""", HttpStatusCode.OK);

        await using var connection = await app.Get<Gateway.Data.Database>().OpenAsync(CancellationToken.None);
        var row = await Gateway.Data.Sql.QuerySingleAsync(
            connection, "SELECT phone_index, email_index, name_index FROM leads WHERE id = @id", null, [("id", id)],
            r => new[] { r.GetString(0), r.GetString(1), r.GetString(2) }, CancellationToken.None);

        Assert.All(row, value => Assert.Matches("^[0-9a-f]{64}$", value));
        Assert.Equal(3, row.Distinct().Count());
    }
}
