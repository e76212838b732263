namespace LiveNews.Server.Store;

internal static class StoreServiceCollectionExtensions
{
    public static IServiceCollection AddStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StoreOptions>()
            .Bind(configuration.GetSection(StoreOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<DataPathOptions>().Bind(configuration.GetSection(DataPathOptions.SectionName));
        services.AddSingleton<RedisStore>();
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store", tags: ["ready"]);
        return services;
    }
}
