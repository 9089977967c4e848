using Gateway.Operations;
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
}
