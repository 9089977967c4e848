using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

internal static class StartupFailure
{
    public static string? Describe(Exception exception) => exception switch
    {
        OptionsValidationException validation => string.Join("; ", validation.Failures),
        InvalidSettingException setting => setting.Message,
        AggregateException aggregate when aggregate.InnerExceptions.Select(Describe).FirstOrDefault(d => d is not null) is { } inner => inner,
        _ => null,
    };

    public static async Task<int> ExitCodeOfAsync(Func<Task<int>> main)
    {
        try
        {
            return await main();
        }
        // Only as its own process: a test host wants the exception itself, not an exit code.
        catch (Exception ex) when (Describe(ex) is { } problem && System.Reflection.Assembly.GetEntryAssembly() == typeof(Program).Assembly)
        {
            // One clear line naming the setting, no stack trace, no secret.
            await Console.Error.WriteLineAsync($"Configuration error: {problem}");
            return 1;
        }
    }
}
