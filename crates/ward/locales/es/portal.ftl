# El portal de denuncias en español. Los mismos mensajes que el inglés (una prueba lo
# comprueba); palabras sencillas y tranquilas, para alguien que puede estar afectado y en un
# teléfono.

## Este idioma, con su propio nombre.
language-name = Español

## Todas las páginas.
service-name = Denunciar abuso sexual infantil en internet
skip-to-content = Ir al contenido principal
quick-exit = Salir de este sitio ahora
quick-exit-hint = O pulse Esc dos veces para salir rápidamente.
languages-label = Idiomas
other-countries = Otros países e idiomas
run-by = Este servicio lo gestiona { $hotline }.
footer-privacy = No guardamos su dirección de internet (dirección IP) ni ningún otro dato de su dispositivo con su denuncia. Solo guardamos su correo electrónico si nos lo da, y solo lo usamos para contarle qué ha pasado.
error-prefix = Error:

## El formulario de denuncia.
form-heading = Denunciar abuso sexual infantil en internet
form-intro = Si ha visto imágenes o vídeos sexuales de un niño, una niña o un adolescente en una página web o una aplicación, díganos dónde. No tiene que dar su nombre.
scope-heading = Qué puede denunciar aquí
scope-body = Imágenes o vídeos en internet que muestran a un menor (cualquier persona de menos de 18 años) sufriendo abuso o explotación sexual.
danger-heading = ¿Hay un menor en peligro ahora mismo?
danger-call = Llame a la policía al { $number }.
danger-call-local = Llame al número de emergencias de su país.
other-heading = ¿Se trata de otra cosa?
other-body = Para otros contenidos dañinos, como acoso, amenazas, estafas o pornografía de adultos, denúncielos en la página web o la aplicación donde los vio. Si alguien está pidiendo imágenes sexuales a un menor, o amenaza con difundirlas, avise a la policía.
dont-heading = Por favor, no
dont-download = descargue, guarde ni haga capturas de pantalla de las imágenes o los vídeos
dont-send = nos los envíe a nosotros ni a nadie, ni siquiera para mostrar lo que vio
dont-search = busque más material de este tipo
dont-why = Copiar o compartir este material puede ser un delito, aunque quiera ayudar. Solo necesitamos la dirección web. Este formulario nunca pide un archivo.
urls-label = Direcciones web (URL)
urls-hint = Copie la dirección de la barra de direcciones de su navegador, por ejemplo https://example.com/pagina. Ponga cada dirección en una línea. Puede denunciar hasta 20 a la vez.
kind-legend = ¿Qué vio?
kind-images = Imágenes
kind-videos = Vídeos
kind-both = Imágenes y vídeos
kind-unsure = No estoy seguro o segura
description-label = Algo más que debamos saber (opcional)
description-hint = Por ejemplo, cómo lo encontró, o una contraseña necesaria para verlo. No hace falta que describa las imágenes o los vídeos.
email-label = Su correo electrónico (opcional)
email-hint = Solo si quiere que le contemos qué ha pasado. No lo usaremos para nada más.
send = Enviar denuncia
status-link = ¿Ya envió una denuncia? Consulte su estado

## Errores del formulario, cada uno arriba y junto a su campo.
error-summary-title = Hay un problema
error-urls-missing = Escriba la dirección web donde lo vio
error-urls-too-many = Escriba 20 direcciones web como máximo. Puede enviar las demás en otra denuncia.
error-url-scheme = La línea { $line } no es una dirección web que se pueda denunciar aquí. Debe empezar por http:// o https://
error-url-invalid = La línea { $line } no es una dirección web. Revísela e inténtelo de nuevo.
error-url-too-long = La dirección web de la línea { $line } es demasiado larga.
error-kind-missing = Elija lo que vio
error-description-too-long = El texto de «Algo más que debamos saber» es demasiado largo. Use 5000 caracteres como máximo.
error-email-invalid = Escriba un correo electrónico como nombre@example.com, o deje el campo vacío
notice-heading = Su denuncia aún no se ha enviado
notice-csrf = Por su seguridad, envíe el formulario de nuevo. Sus respuestas siguen aquí. Si vuelve a ocurrir, compruebe que su navegador acepta cookies de este sitio.
notice-busy = Ha enviado varias denuncias en poco tiempo. Espere un minuto y vuelva a enviar esta. Sus respuestas siguen aquí.

## Después de enviar.
filed-title = Denuncia enviada
filed-reference-label = Su número de referencia
filed-keep = Apunte este número o guárdelo en un lugar seguro. Es la única forma de consultar su denuncia, porque no sabemos quién es usted.
next-heading = Qué pasa ahora
next-check = Un analista revisa cada dirección web que nos dio. Nunca se le mostrará lo que encontremos.
next-remove = Si las imágenes o los vídeos son ilegales, pedimos a la página web que los retire y avisamos a la policía cuando es necesario.
next-status = Puede consultar el estado de su denuncia en cualquier momento con su número de referencia.
next-email = Si nos dio su correo electrónico, le escribiremos para contarle qué ha pasado.
filed-status-link = Consultar el estado de esta denuncia
filed-another = Denunciar otra dirección web
support-heading = Cuídese
support-body = Ver este tipo de material puede afectar mucho. No es culpa suya. Hablar con alguien de confianza, o con un servicio de apoyo, puede ayudar.

## Consultar una denuncia.
status-title = Consultar una denuncia
status-intro = Escriba el número de referencia que recibió al enviar su denuncia.
reference-label = Número de referencia
reference-hint = Empieza por R, por ejemplo R-7K3M-Q9XP-2D4F.
status-send = Consultar estado
error-reference-missing = Escriba su número de referencia
error-reference-invalid = Escriba el número de referencia tal como se lo dimos, por ejemplo R-7K3M-Q9XP-2D4F
error-reference-unknown = No encontramos ninguna denuncia con este número de referencia. Revíselo e inténtelo de nuevo.
status-sent-on = Enviada el { $date }
status-caption = Estado de cada dirección web
status-url = Dirección web
status-state = Estado
status-urls-note = Las direcciones web se muestran como texto, no como enlaces, para que nadie las abra por error.
status-another = Consultar otra denuncia
state-received = Recibida: pendiente de revisión
state-unreachable = Aún no hemos podido acceder a esta dirección. Lo intentaremos de nuevo.
state-refused = No podemos revisar esta dirección porque no es una dirección web pública.
state-known = Revisada: este material ya se conoce y se está tratando.
state-queued = Pendiente de que la revise un analista
state-assessed = Revisada: un analista encontró material ilegal. Se están tomando medidas.
state-not-actionable = Revisada: no hemos podido actuar sobre esta dirección.
state-noticed = Se ha pedido a la página web que lo retire.
state-removed = Retirada: la dirección ya no muestra este material.

## Otras páginas.
not-found-title = No se encuentra la página
not-found-body = No hay ninguna página de denuncia en esta dirección. Revise la dirección o use el formulario para todos los países.
not-found-link = Ir al formulario de denuncia
upload-title = Este formulario no acepta archivos
upload-body = No envíe nunca imágenes ni vídeos, ni a nosotros ni a nadie. Envíe solo la dirección web donde los vio.
back-to-form = Volver al formulario
error-title = Lo sentimos, hay un problema con el servicio
error-body = Su denuncia no se ha enviado. Inténtelo de nuevo más tarde.
countries-heading = Páginas para un país
countries-intro = Estas páginas dan el número de emergencias del país y se muestran en sus idiomas.

## Los países, en español.
country-gb = Reino Unido
country-us = Estados Unidos
country-ca = Canadá
country-fr = Francia
country-es = España
country-mx = México
country-ma = Marruecos
country-eg = Egipto
country-br = Brasil
country-pt = Portugal
