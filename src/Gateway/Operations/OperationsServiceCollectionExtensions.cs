namespace Gateway.Operations;

internal static class OperationsServiceCollectionExtensions
{
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.AddSingleton<GatewayStatus>();
        services.AddSingleton<StateGauges>();
        services.AddHostedService<StateGaugeRefresher>();
        services.AddSingleton<TokenDiagnostics>();
        services.AddGatewayOpenApi();
        return services;
    }

    // Diagnostics need a key; /metrics has its own credential; the OpenAPI document is public. Health is mapped first,
    // on its own (Program.cs), and these last, so the OpenAPI document lists paths and tags in the order it always has.
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        routes.MapDiagnostics();
        routes.MapMetrics();
        routes.MapOpenApi().AllowAnonymous();
        return routes;
    }
}
