using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Milvus.Workers.Hosting;

/// <summary>The one way settings are registered: bound from their section, validated at start with the specific problem.</summary>
public static class OptionsRegistration
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to <paramref name="section"/> and checks it when the host starts: a non-null
    /// answer of <paramref name="validate"/> stops the start with that message, which names the key.
    /// </summary>
    public static IServiceCollection AddMilvusOptions<T>(this IServiceCollection services, string section, Func<T, string?> validate)
        where T : class
    {
        services.AddOptions<T>().BindConfiguration(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new OptionsValidator<T>(validate));
        return services;
    }

    private sealed class OptionsValidator<T>(Func<T, string?> validate) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options) =>
            validate(options) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
