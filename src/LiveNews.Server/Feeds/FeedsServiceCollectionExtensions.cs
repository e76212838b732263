using LiveNews.Server.Bus;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Feeds;

internal static class FeedsServiceCollectionExtensions
{
    public static IServiceCollection AddFeeds(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FeedOptions>()
            .Bind(configuration.GetSection(FeedOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => WebSubOptions.IsHttpUrl(o.BaseUrl), "Feeds:BaseUrl must be an absolute http(s) URL without query or fragment (https://live.news.example).")
            .ValidateOnStart();
        services.AddOptions<WebSubOptions>()
            .Bind(configuration.GetSection(WebSubOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => WebSubOptions.IsHttpUrl(o.Hub), "WebSub:Hub must be an absolute http(s) URL without query or fragment.")
            .Validate<IOptions<FeedOptions>>((websub, feeds) => !websub.Enabled || feeds.Value.Base is not null,
                "WebSub:Hub needs Feeds:BaseUrl: pings name feeds by their public URL.")
            .ValidateOnStart();
        services.AddSingleton<WebSubQueue>();
        services.AddSingleton<IPublishObserver, FeedChanges>();
        services.AddHttpClient(WebSubWorker.HttpClientName)
            .ConfigureHttpClient(client => client.Timeout = TimeSpan.FromMinutes(2)) // above Polly's total: Polly governs
            .RemoveAllLoggers();
        services.AddHostedService<WebSubWorker>();
        return services;
    }
}
