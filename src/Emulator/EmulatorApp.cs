namespace Emulator;

// Composition shared by the in-process AmoEmulator and the standalone EmulatorProgram.
internal static class EmulatorApp
{
    public static void AddEmulator(this IServiceCollection services, EmulatorOptions options, TimeProvider time)
    {
        // The injected clock lives in EmulatorState only: Kestrel must keep real time when a test freezes or jumps its clock.
        services.AddSingleton(options);
        var state = new EmulatorState(options, time);
        services.AddSingleton(state);
        services.AddSingleton(new HookState(state));
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
    }

    public static WebApplication MapEmulator(this WebApplication app)
    {
        app.UseAmoGate();
        app.MapControl();
        app.MapHooks();
        app.MapContactControl();
        app.MapOAuth();
        app.MapTeam();
        app.MapAmoApi();
        return app;
    }
}
