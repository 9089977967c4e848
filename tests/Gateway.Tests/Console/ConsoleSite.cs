using System.Net;
using System.Net.Sockets;
using Deque.AxeCore.Playwright;
using Emulator;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

// Not Gateway.Tests.Console: it would hide System.Console from the other test folders.
namespace Gateway.Tests.AdminConsole;

// A browser test's world: the emulator, the real gateway on a loopback port (Kestrel, not TestServer: a browser needs a
// socket), and Debian's chromium driven by Playwright (never `playwright install`: its download does not work here).
internal sealed class ConsoleSite : IAsyncDisposable
{
    public const string Password = "console-test-password-0123";
    public const string ChromiumPath = "/usr/bin/chromium";

    // CI sets this (.ci/run installs chromium): a missing browser is then a failure, not a skip.
    public const string RequireVariable = "GATEWAY_TEST_REQUIRE_BROWSER";

    private IPlaywright? playwright;
    private IBrowser? browser;

    private ConsoleSite(AmoEmulator amo, GatewayApp app, Uri address)
    {
        Amo = amo;
        App = app;
        Address = address;
    }

    public static string? MissingBrowser =>
        File.Exists(ChromiumPath) || Environment.GetEnvironmentVariable(RequireVariable) is { Length: > 0 }
            ? null
            : $"skipped: no chromium at {ChromiumPath} (apt-get install -y chromium; .ci/run installs it and sets {RequireVariable})";

    public AmoEmulator Amo { get; }

    public GatewayApp App { get; }

    public Uri Address { get; }

    public IPage Page { get; private set; } = null!;

    public static async Task<ConsoleSite> StartAsync(bool withPassword = true, string locale = "en-US", int width = 1280, IDictionary<string, string?>? settings = null)
    {
        // The integration's redirect URI is this gateway's own address, as a real one is: the emulator's consent page
        // sends the browser back to it. So the port is picked before either starts.
        var port = FreeLoopbackPort();
        var emulatorOptions = GatewayApp.EmulatorOptionsFor();
        emulatorOptions.RedirectUri = $"http://127.0.0.1:{port}/oauth/callback";
        var amo = await AmoEmulator.StartAsync(emulatorOptions);
        var all = new Dictionary<string, string?> { ["AMO_REDIRECT_URI"] = emulatorOptions.RedirectUri };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        if (withPassword)
        {
            all["ADMIN_PASSWORD"] = Password;
        }

        var app = new GatewayApp(amo, settings: all);
        app.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        app.StartServer();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var site = new ConsoleSite(amo, app, address);
        site.playwright = await Playwright.CreateAsync();
        site.browser = await site.playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Root in CI containers: chromium's sandbox needs user namespaces it does not get there.
            Args = ["--no-sandbox"],
        });
        var context = await site.browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = address.ToString(),
            Locale = locale,
            ViewportSize = new ViewportSize { Width = width, Height = 900 },
        });
        context.SetDefaultTimeout(15_000);
        site.Page = await context.NewPageAsync();
        return site;
    }

    // Where the docs' screenshots go: docs/console in the repository when GATEWAY_SCREENSHOTS is set, else a temporary
    // folder (the pictures are still taken, so the code that takes them runs on every test run).
    public static string ScreenshotFolder()
    {
        if (Environment.GetEnvironmentVariable("GATEWAY_SCREENSHOTS") is not { Length: > 0 })
        {
            return Directory.CreateTempSubdirectory("gateway-shots-").FullName;
        }

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gateway.slnx")))
        {
            dir = dir.Parent;
        }

        var root = dir?.FullName ?? throw new InvalidOperationException("Gateway.slnx not found above " + AppContext.BaseDirectory);
        return Directory.CreateDirectory(Path.Combine(root, "docs", "console")).FullName;
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    // The API beside the browser, with API_KEY: to submit leads and check what the console did.
    public HttpClient Api()
    {
        var client = new HttpClient { BaseAddress = Address };
        client.DefaultRequestHeaders.Add("X-API-KEY", GatewayApp.ApiKey);
        return client;
    }

    public async Task SignInAsync()
    {
        await Page.GotoAsync("/admin/");
        await Page.GetByLabel("Admin password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Assertions.Expect(Page.Locator("h1")).ToHaveTextAsync("Overview");
    }

    // No serious or critical violation on the page as it is now.
    public async Task AssertAccessibleAsync(string what)
    {
        var result = await Page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, what + ": " + string.Join("; ", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
    }

    public async ValueTask DisposeAsync()
    {
        if (browser is not null)
        {
            await browser.DisposeAsync();
        }

        playwright?.Dispose();
        await App.DisposeAsync();
        await Amo.DisposeAsync();
    }
}

public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (ConsoleSite.MissingBrowser is { } reason)
        {
            Skip = reason;
        }
    }
}
