namespace Gateway.Operations;

internal static class OperationsServiceCollectionExtensions
{
    public static IServiceCollection AddOperations(this IServiceCollection services)
    {
        services.AddSingleton<PrometheusCollector>();
        services.AddSingleton<GatewayStatus>();
        services.AddSingleton<TokenDiagnostics>();
        services.AddGatewayOpenApi();
        return services;
    }

    // Health stays anonymous; diagnostics need a key; /metrics has its own credential; the OpenAPI document is public.
    public static IEndpointRouteBuilder MapOperations(this IEndpointRouteBuilder routes)
    {
        routes.MapHealth();
        routes.MapDiagnostics();
        routes.MapMetrics();
        routes.MapOpenApi().AllowAnonymous();
        return routes;
    }
}
