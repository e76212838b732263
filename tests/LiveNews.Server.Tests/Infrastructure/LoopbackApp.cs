using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveNews.Server.Tests.Infrastructure;

/// <summary>
/// Real HTTP servers on a free loopback port, for what LiveNews talks to in tests (social networks, a push
/// service, a WebSub hub, an OTLP collector), and the address a started one listens on.
/// </summary>
public static class LoopbackApp
{
    /// <summary>A Kestrel app on 127.0.0.1 and a port of its own; logs from <paramref name="minimumLevel"/> up (none by default).</summary>
    public static WebApplication Create(LogLevel minimumLevel = LogLevel.None)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        if (minimumLevel == LogLevel.None)
        {
            builder.Logging.ClearProviders();
        }
        else
        {
            builder.Logging.SetMinimumLevel(minimumLevel);
        }

        return builder.Build();
    }

    /// <summary>Where a started server listens, as Kestrel reports it (<c>http://127.0.0.1:port</c>).</summary>
    public static string ListeningAddress(this IServiceProvider services) =>
        services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}
