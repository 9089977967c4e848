using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;

namespace Gateway.Tests.AdminConsole;

// Issue 18: the console shows times in the account's time zone, which amoCRM keeps (account?with=datetime_settings).
public sealed class AccountTimeZoneTests
{
    [Fact]
    public async Task The_overview_and_the_leads_list_name_the_accounts_time_zone_once_it_is_connected()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var admin = app.CreateKeyedClient();

        var before = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/overview"));
        Assert.Null((string?)before["accounts"]![0]!["time_zone"]);

        await app.AuthorizeAsync();
        await admin.PostQueuedAsync(OutboxTestKit.Lead(1), HttpStatusCode.OK);
        var overview = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/overview"));
        var leads = await ApiAssert.SuccessDataAsync(await admin.GetAsync("/api/v1/admin/leads"));

        Assert.Equal("Europe/Moscow", (string?)overview["accounts"]![0]!["time_zone"]);
        Assert.Equal("Europe/Moscow", (string?)leads["time_zone"]);
    }
}
