namespace LiveNews.Server.Bus;

internal static class BusServiceCollectionExtensions
{
    /// <summary>The Redis bus: publishing, reading topics and relaying events to this node's <see cref="IEventSink"/>.</summary>
    public static IServiceCollection AddBus(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BusOptions>()
            .Bind(configuration.GetSection(BusOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<SnapshotOptions>();
        services.AddSingleton<RedisNames>();
        services.AddSingleton<EventBus>();
        services.AddSingleton<EventRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<EventRelay>());
        services.AddHealthChecks().AddCheck<RelayHealthCheck>("relay", tags: ["ready"]);
        return services;
    }
}
