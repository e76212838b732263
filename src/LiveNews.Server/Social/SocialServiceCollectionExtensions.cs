using System.Xml.Linq;
using LiveNews.Server.Editors;
using LiveNews.Server.Newsroom;
using LiveNews.Server.Operations;
using LiveNews.Server.Social.Adapters;
using LiveNews.Server.Store;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Social;

internal static class SocialServiceCollectionExtensions
{
    public const string HttpClientName = "social";

    public static IServiceCollection AddSocial(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SocialOptions>().Bind(configuration.GetSection(SocialOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SocialOptions>, SocialOptionsValidator>();

        // Polly governs time: one run is bounded below the lease (ShareLease), so the client's own timeout is
        // only a backstop above it. The factory's request logging is removed: webhook URLs carry their secret
        // in the path, and .NET redacts only the query string.
        services.AddHttpClient(HttpClientName)
            .ConfigureHttpClient((sp, client) => client.Timeout = sp.GetRequiredService<IOptions<SocialOptions>>().Value.LeaseDuration + TimeSpan.FromSeconds(30))
            .RemoveAllLoggers();
        services.AddSingleton<IShareAdapter, MastodonAdapter>();
        services.AddSingleton<IShareAdapter, BlueskyAdapter>();
        services.AddSingleton<IShareAdapter, XAdapter>();
        services.AddSingleton<IShareAdapter, FacebookAdapter>();
        services.AddSingleton<IShareAdapter, LinkedInAdapter>();
        services.AddSingleton<IShareAdapter, ThreadsAdapter>();
        services.AddSingleton<IShareAdapter, WebhookAdapter>();

        AddTokenProtection(services);
        services.TryAddSingleton<ArticleReader>(); // Newsroom's read; listed here until Newsroom's own extension lists it
        services.AddSingleton<OAuthTokens>();
        services.AddSingleton<SharePipelines>();
        services.AddSingleton<ShareStore>();
        services.AddSingleton<ShareService>();
        services.AddSingleton<AccountHealth>();
        services.AddSingleton<ShareWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ShareWorker>());
        return services;
    }

    public static IEndpointRouteBuilder MapSocial(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api");
        api.MapGroup("").WithTags("Readers").AllowAnonymous().RequireRateLimiting(RateLimiting.Public).MapShareLinks();
        api.MapGroup("")
            .WithTags("Social")
            .RequireAuthorization(EditorScopes.Share)
            .RequireRateLimiting(RateLimiting.Editor)
            .AddEndpointFilter<Idempotency>()
            .MapShares();
        return endpoints;
    }

    /// <summary>
    /// Data Protection encrypts the OAuth tokens kept in the store; its keys are kept beside the store
    /// (<c>&lt;Store:DataPath&gt;/keys</c>), or in memory when there is no data path.
    /// </summary>
    private static void AddTokenProtection(IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("LiveNews");
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<DataPathOptions>, IHostEnvironment, ILoggerFactory>((keys, data, environment, loggers) =>
        {
            var logger = loggers.CreateLogger<OAuthTokens>();
            var path = data.Value.Resolve(environment);
            if (path is null)
            {
                keys.XmlRepository = new InMemoryXmlRepository();
                SocialLog.KeysInMemory(logger);
                return;
            }

            var directory = Path.Combine(path, "keys");
            keys.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(directory), loggers);
            SocialLog.KeysOnDisk(logger, directory);
        });
    }

    /// <summary>Keys that live as long as the process: a restart cannot read what was encrypted before it.</summary>
    private sealed class InMemoryXmlRepository : IXmlRepository
    {
        private readonly List<XElement> _elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (_elements)
            {
                return [.. _elements.Select(e => new XElement(e))];
            }
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (_elements)
            {
                _elements.Add(new XElement(element));
            }
        }
    }
}
