using LiveNews.Server.Bus;

namespace LiveNews.Server.Realtime;

internal static class RealtimeServiceCollectionExtensions
{
    public static IServiceCollection AddRealtime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RealtimeOptions>()
            .Bind(configuration.GetSection(RealtimeOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSignalR();
        services.AddSingleton<IEventSink, HubEventSink>();
        return services;
    }

    public static IEndpointRouteBuilder MapRealtime(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHub<LiveHub>("/hubs/live");
        return endpoints;
    }
}
